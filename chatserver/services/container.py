"""Services: the use cases wired together once, handed to the gateway."""

from __future__ import annotations

from dataclasses import dataclass

from chatserver.coordination.base import RateLimiter
from chatserver.files.base import FileStore
from chatserver.services.accounts import AccountService
from chatserver.services.guests import GuestService
from chatserver.services.images import ImageProcessor
from chatserver.services.invites import InviteService
from chatserver.services.lifecycle import AccountLifecycle
from chatserver.services.meetups import MeetupService
from chatserver.services.messages import MessageService
from chatserver.services.moderation import ModerationService
from chatserver.services.notifications import NotificationService
from chatserver.services.pins import PinService
from chatserver.services.polls import PollService
from chatserver.services.presence import PresenceService
from chatserver.services.profiles import ProfileService
from chatserver.services.questions import QuestionService
from chatserver.services.ratelimit import Limits
from chatserver.services.reactions import ReactionService
from chatserver.services.reports import ReportService
from chatserver.services.rooms import RoomService
from chatserver.services.search import SearchService
from chatserver.services.session import SessionService
from chatserver.services.social import SocialService
from chatserver.services.sync import SyncService
from chatserver.services.uploads import UploadService
from chatserver.services.workshops import WorkshopService
from chatserver.store.write_queue import Client, Receive


@dataclass(frozen=True, slots=True)
class Services:
    accounts: AccountService
    lifecycle: AccountLifecycle
    rooms: RoomService
    moderation: ModerationService
    messages: MessageService
    reactions: ReactionService
    pins: PinService
    questions: QuestionService
    polls: PollService
    workshops: WorkshopService
    reports: ReportService
    social: SocialService
    invites: InviteService
    guests: GuestService
    notifications: NotificationService
    sync: SyncService
    session: SessionService
    presence: PresenceService
    limiter: RateLimiter
    local_limiter: RateLimiter
    limits: Limits
    meetups: MeetupService
    profiles: ProfileService
    search: SearchService
    files: FileStore
    images: ImageProcessor
    uploads: UploadService

    @staticmethod
    def request_client(receive: Receive) -> Client:
        """`with services.request_client(request.receive):` around an HTTP request's work,
        so that a write which has to wait is not run once its client has disconnected
        (`store/write_queue.py`)."""
        return Client(receive)
