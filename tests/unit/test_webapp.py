"""The service worker's shell and build: a new release or a changed client file gives a
new build (so browsers replace the old shell); data, tests and tooling stay out."""

from __future__ import annotations

from pathlib import Path

from chatserver.gateway.webapp import describe_shell, service_worker_body


def _client(root: Path) -> Path:
    for rel, text in {
        "index.html": "<!doctype html>",
        "app.js": "import './views/a.js';",
        "views/a.js": "export {};",
        "css/app.css": "body{}",
        "sw.js": "/* worker */",
        "manifest.webmanifest": "{}",
        "tests/a.test.mjs": "",
        "tests/b.js": "",
        "vendor/emojibase/emoji.json": "{}",
        "README.md": "",
    }.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_the_shell_lists_what_a_page_loads_and_nothing_else(tmp_path: Path) -> None:
    shell = describe_shell(_client(tmp_path), "1.0")
    assert shell.files == (
        "/",
        "/app.js",
        "/css/app.css",
        "/index.html",
        "/manifest.webmanifest",
        "/views/a.js",
    )


def test_a_new_release_or_a_changed_file_gives_a_new_build(tmp_path: Path) -> None:
    client = _client(tmp_path)
    first = describe_shell(client, "1.0").build
    assert describe_shell(client, "1.0").build == first
    assert describe_shell(client, "1.1").build != first
    (client / "views" / "a.js").write_text("export const changed = 1;")
    assert describe_shell(client, "1.0").build != first
    (client / "tests" / "b.js").write_text("not part of the shell")
    (client / "README.md").write_text("nor this")
    second = describe_shell(client, "1.0").build
    (client / "tests" / "b.js").write_text("still not")
    assert describe_shell(client, "1.0").build == second


def test_the_worker_carries_its_build_and_shell(tmp_path: Path) -> None:
    client = _client(tmp_path)
    shell = describe_shell(client, "1.0")
    body = service_worker_body(client, shell).decode()
    first, rest = body.split("\n", 1)
    assert (
        first
        == f'self.__SHELL__ = {{"build":"{shell.build}","files":{list(shell.files)}}};'.replace(
            "'", '"'
        ).replace(", ", ",")
    )
    assert rest == "/* worker */"
