"""Reading the hub's HTML pages in tests."""

import re


def csrf_token(page) -> str:
    """The CSRF token in a page from Flask's test client."""
    return re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
