"""Gradio entry point: `python app.py` (same as `qa serve`). Settings come from QA_* variables."""

from qa.settings import Settings
from qa.ui.start import launch

if __name__ == "__main__":
    launch(Settings())
