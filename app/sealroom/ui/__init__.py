"""The full-screen terminal UI (Textual): one way of answering the ceremony engine's questions."""
