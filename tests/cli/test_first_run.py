"""What `up` prints the first time: the demo user's credentials, its tier's
limits (so the curl tour's repeats do not surprise with a 429), and how to
get an admin account."""

import re


def test_first_run_names_the_demo_tier_and_how_to_get_an_admin(app_ctx, capsys):
    from hub.cli.processes import _first_run_demo_user
    from hub.services import accounts

    _first_run_demo_user(app_ctx)
    out = capsys.readouterr().out
    assert accounts.get_user("demo").tier == "free"
    assert "'demo' is on the free tier: 5 unfinished (pending or running) tasks at once, 60/minute requests." in out
    command = re.search(r"`(codetether-hub users create admin --admin[^`]*)`", out)
    assert command and "--password" in command.group(1)

    _first_run_demo_user(app_ctx)  # the next `up` prints nothing of it
    assert capsys.readouterr().out == ""
