"""The chat page (Gradio): the app and its endpoints (app), HTML (render), shared page logic, assets and tabs."""
