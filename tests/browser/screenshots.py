"""Screenshots of the screens for the README, taken against `floor demo` in mid-morning.

    .venv/bin/python -m tests.browser.screenshots [--out docs/screenshots]

Starts the demo on a free port with the clinic clock at 08:00 running at 60x, plays 55 clinic minutes (the
demo's late provider then has a "Running late" cascade up, so the alerts show on every screen), then
photographs the tablet (a medical assistant's work list), the hallway wall, the waiting room (in English, and
in Spanish as a device asking for it shows it), the manager's page and its console in Chromium.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.browser.conftest import CHROMIUM, FLAGS, Demo, sign_in_page


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="docs/screenshots", help="where the PNG files go")
    parser.add_argument("--minutes", type=float, default=55, help="clinic minutes to play before the photos (55)")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    speed = 60.0
    demo = Demo(Path(tempfile.mkdtemp()) / "demo.log", speed=speed, start="08:00")
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            wall = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
            wall.goto(f"{demo.url}/board.html")
            # The demo clinic's waiting room alternates English and Spanish: one device asks for each.
            waiting = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
            waiting.goto(f"{demo.url}/waiting.html?lang=en")
            spanish = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
            spanish.goto(f"{demo.url}/waiting.html?lang=es")
            time.sleep(args.minutes * 60 / speed)
            shots = {"wall.png": wall, "waiting-room.png": waiting, "waiting-room-es.png": spanish}
            for name, staff, path in (("tablet.png", "ben", ""), ("manager.png", "dana", "manager.html")):
                page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
                page.goto(f"{demo.url}/{path}")
                sign_in_page(page, staff, demo.pins[staff], device="tablet-east")
                page.wait_for_timeout(2000)
                shots[name] = page
                if name == "manager.png":
                    # The console below the charts: staff, displays, rooms, the schedule.
                    console = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
                    console.goto(f"{demo.url}/{path}")
                    sign_in_page(console, staff, demo.pins[staff], device="office")
                    console.wait_for_selector("#staff-table tbody tr", timeout=10_000)
                    console.evaluate("document.querySelector('nav.jump').scrollIntoView()")
                    shots["manager-console.png"] = console
            for name, page in shots.items():
                page.screenshot(path=str(out / name))
                print(f"wrote {out / name}")
            browser.close()
    finally:
        demo.stop()


if __name__ == "__main__":
    main()
