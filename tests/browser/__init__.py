"""Browser tests: a real Home Assistant driven through its web UI by headless Chromium."""
