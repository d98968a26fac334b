"""Entry point: `python app.py` is `cxbot run`."""

from bot.cli import app

if __name__ == "__main__":
    app(["run"])
