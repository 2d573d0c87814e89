"""Attachments in the web client against the real server: files dropped on the
chat, pasted or picked with the button upload into the composer's tray (with
a progress bar, and a cancel button), go out with the message, and show on the
other side as thumbnails (two side by side for "A or B?") opening a
keyboard-driven viewer, or as download chips; refused files say why, in the
interface's language."""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Callable

from PIL import Image
from playwright.sync_api import FilePayload, Page, expect

from tests.browser.conftest import LIVE_MS, Person, create_topic


def png(color: str, size: tuple[int, int] = (640, 480)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


def drop_files(page: Page, target: str, files: list[tuple[str, str, bytes]]) -> None:
    """Drag files from the desktop and drop them on `target`, as a person would."""
    transfer = page.evaluate_handle(
        """(files) => {
          const dt = new DataTransfer();
          for (const [name, type, b64] of files) {
            const bin = atob(b64);
            const bytes = new Uint8Array(bin.length);
            for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
            dt.items.add(new File([bytes], name, { type }));
          }
          return dt;
        }""",
        [[name, mime, base64.b64encode(data).decode()] for name, mime, data in files],
    )
    for event in ("dragenter", "dragover", "drop"):
        page.dispatch_event(target, event, {"dataTransfer": transfer})


def test_dropped_images_show_side_by_side_on_the_other_side(
    make_person: Callable[..., Person],
) -> None:
    alice = make_person("Alice", open=False)
    bob = make_person("Bob", open=False)
    create_topic(alice, "Fête des mères", bob)
    alice.open()
    bob.open()
    alice.open_room("Fête des mères")
    bob.open_room("Fête des mères")

    drop_files(
        alice.page,
        "main.chat",
        [
            ("affiche-a.png", "image/png", png("#e4572e")),
            ("affiche-b.png", "image/png", png("#2e86ab")),
        ],
    )
    tray = alice.page.get_by_role("list", name="Fichiers joints au message")
    expect(tray.locator(".upload-item")).to_have_count(2)
    # Both finish uploading (the progress bars go), then the message goes with them.
    expect(tray.locator(".upload-done")).to_have_count(2, timeout=LIVE_MS)
    alice.send("Image **A** ou **B** pour la pub ?")
    expect(tray).to_be_hidden()

    msg = bob.message("pour la pub")
    expect(msg).to_be_visible(timeout=LIVE_MS)
    expect(msg.locator(".msg-body strong")).to_have_text(["A", "B"])
    pair = msg.get_by_role("group", name="Deux images à comparer")
    thumbs = pair.locator(".att-thumb")
    expect(thumbs).to_have_count(2)
    expect(thumbs.nth(0)).to_have_accessible_name("Choix A : affiche-a.png")
    expect(thumbs.nth(1)).to_have_accessible_name("Choix B : affiche-b.png")
    # The thumbnails were fetched with Bob's token and really drawn.
    for i in range(2):
        img = thumbs.nth(i).locator("img")
        expect(img).to_have_attribute("src", re.compile(r"^blob:"), timeout=LIVE_MS)
        bob.page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=img.element_handle()
        )
    boxes = [thumbs.nth(i).bounding_box() for i in range(2)]
    assert boxes[0] and boxes[1]
    assert (
        abs(boxes[0]["y"] - boxes[1]["y"]) < 2
        and boxes[1]["x"] > boxes[0]["x"] + boxes[0]["width"] - 1
    )

    # The viewer: opens on A, the arrow keys go to B and back, Esc closes it and
    # gives focus back to the thumbnail it came from.
    thumbs.nth(0).click()
    viewer = bob.page.get_by_role("dialog", name="affiche-a.png")
    expect(viewer).to_be_visible()
    expect(viewer.locator(".lb-img")).to_have_attribute("src", re.compile(r"^blob:"))
    bob.page.keyboard.press("ArrowRight")
    expect(bob.page.get_by_role("dialog", name="affiche-b.png")).to_be_visible()
    bob.page.keyboard.press("ArrowLeft")
    expect(viewer).to_be_visible()
    bob.page.keyboard.press("Escape")
    expect(bob.page.locator("dialog.lightbox")).to_have_count(0)
    expect(thumbs.nth(0)).to_be_focused()


def test_files_are_chips_and_refusals_are_explained(make_person: Callable[..., Person]) -> None:
    alice = make_person("Alice", open=False)
    bob = make_person("Bob", open=False)
    create_topic(alice, "Contrats", bob)
    create_topic(alice, "Autre sujet")
    alice.open()
    bob.open()
    alice.open_room("Contrats")
    bob.open_room("Contrats")

    # A file picked with the button.
    with alice.page.expect_file_chooser() as chooser:
        alice.page.get_by_role("button", name="Joindre des fichiers").click()
    chooser.value.set_files(
        files=[
            FilePayload(name="notes.txt", mimeType="text/plain", buffer="Bonjour à tous\n".encode())
        ]
    )
    tray = alice.page.get_by_role("list", name="Fichiers joints au message")
    expect(tray.locator(".upload-done")).to_have_count(1, timeout=LIVE_MS)

    # A file whose content is not what its type says is refused, and says so.
    drop_files(alice.page, "main.chat", [("faux.png", "image/png", b"ceci n'est pas une image")])
    failed = tray.locator(".upload-failed")
    expect(failed).to_contain_text("Type refusé", timeout=LIVE_MS)
    # So is one over the size limit (10 MiB by default).
    alice.page.evaluate(
        """() => {
          const dt = new DataTransfer();
          const big = new Uint8Array(10 * 1024 * 1024 + 1);
          dt.items.add(new File([big], 'enorme.png', { type: 'image/png' }));
          const chat = document.querySelector('main.chat');
          for (const type of ['dragenter', 'dragover', 'drop']) {
            const init = { dataTransfer: dt, bubbles: true, cancelable: true };
            chat.dispatchEvent(new DragEvent(type, init));
          }
        }"""
    )
    expect(tray.locator(".upload-failed", has_text="enorme.png")).to_contain_text(
        "Fichier trop volumineux", timeout=LIVE_MS
    )
    # Refused files are removed by hand; the good one stays and goes with the message.
    for name in ("faux.png", "enorme.png"):
        tray.get_by_role("button", name=f"Retirer {name}").click()
    expect(tray.locator(".upload-item")).to_have_count(1)
    # Like a draft, the file waits in its own room's composer.
    alice.open_room("Autre sujet")
    expect(tray).to_be_hidden()
    alice.open_room("Contrats")
    expect(tray.locator(".upload-done")).to_have_count(1)
    alice.send("Le compte rendu")

    msg = bob.message("Le compte rendu")
    expect(msg).to_be_visible(timeout=LIVE_MS)
    chip = msg.locator(".att-file")
    expect(chip).to_contain_text("notes.txt")
    expect(chip).to_contain_text("o")  # its size, in bytes ("16 o")
    with bob.page.expect_download() as download:
        chip.click()
    assert download.value.suggested_filename == "notes.txt"
    assert download.value.path().read_text(encoding="utf-8") == "Bonjour à tous\n"


def paste_files(page: Page, files: list[tuple[str, str, bytes]]) -> None:
    """Paste files into the composer, as after copying a screenshot."""
    page.evaluate(
        """(files) => {
          const dt = new DataTransfer();
          for (const [name, type, b64] of files) {
            const bin = atob(b64);
            const bytes = new Uint8Array(bin.length);
            for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
            dt.items.add(new File([bytes], name, { type }));
          }
          const box = document.querySelector('#composer-input');
          const init = { clipboardData: dt, bubbles: true, cancelable: true };
          box.dispatchEvent(new ClipboardEvent('paste', init));
        }""",
        [[name, mime, base64.b64encode(data).decode()] for name, mime, data in files],
    )


def test_paste_shows_progress_cancels_and_sends_files_alone(
    make_person: Callable[..., Person],
) -> None:
    alice = make_person("Alice", open=False)
    bob = make_person("Bob", open=False)
    create_topic(alice, "Captures", bob)
    alice.open()
    bob.open()
    alice.open_room("Captures")
    bob.open_room("Captures")
    tray = alice.page.get_by_role("list", name="Fichiers joints au message")

    # On a slow uplink the bar moves, and the upload can be cancelled half-way.
    assert alice.context is not None
    cdp = alice.context.new_cdp_session(alice.page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 20, "downloadThroughput": -1, "uploadThroughput": 64 * 1024},
    )
    noise = Image.effect_noise((700, 700), 90).convert("RGB")
    big = io.BytesIO()
    noise.save(big, "PNG")
    paste_files(alice.page, [("image.png", "image/png", big.getvalue())])
    item = tray.locator(".upload-item")
    expect(item).to_have_count(1)
    # A pasted screenshot gets a dated name rather than "image.png".
    expect(item.locator(".upload-name")).to_have_text(re.compile(r"^image-\d{8}-\d{6}\.png$"))
    bar = item.get_by_role("progressbar")
    alice.page.wait_for_function(
        "bar => bar.value > 0 && bar.value < 1", arg=bar.element_handle(), timeout=LIVE_MS
    )
    name = item.locator(".upload-name").inner_text()
    item.get_by_role("button", name=f"Annuler l’envoi de {name}").click()
    expect(tray.locator(".upload-item")).to_have_count(0)
    expect(tray).to_be_hidden()
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )

    # Files alone make a message: Enter with an empty box sends them.
    paste_files(alice.page, [("capture.png", "image/png", png("#3a7d44", (300, 200)))])
    expect(tray.locator(".upload-done")).to_have_count(1, timeout=LIVE_MS)
    alice.composer().press("Enter")
    expect(tray).to_be_hidden()
    sent = bob.page.locator("article.msg:not(.pending)", has=bob.page.locator(".att-thumb"))
    expect(sent).to_have_count(1, timeout=LIVE_MS)
    expect(sent.locator(".msg-body")).to_have_count(0)
    expect(sent.get_by_role("button", name="Agrandir l’image capture.png")).to_be_visible()
    # Where one line of text is shown, the file is named.
    sent.hover()
    sent.get_by_role("button", name="Répondre").click()
    expect(bob.page.locator(".reply-bar-quote")).to_have_text("🖼 capture.png")
