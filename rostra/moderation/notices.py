"""The words of a notice: the rule, the evidence, the action, its duration, how to appeal."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rostra.core import events
from rostra.core.clock import now
from rostra.moderation.models import ModAction, Notice

WHAT_HAPPENED: dict[str, str] = {
    ModAction.Kind.REMOVE: "A moderator removed your post. Only you can still see it.",
    ModAction.Kind.LABEL: "Your post is now shown behind a content warning.",
    ModAction.Kind.LIMIT: "Your post's reach is limited: people who follow you and people it mentions still see it, but it is kept off public and hashtag timelines, search for strangers, and other servers.",
    ModAction.Kind.WARN: "This is a warning. Nothing has been removed and your account works as before.",
    ModAction.Kind.HOLD_ACCOUNT: "Your new posts will be held until a moderator has reviewed them. Only you see a held post until then.",
    ModAction.Kind.SUSPEND: "Your account is suspended. Your profile and posts are hidden and you cannot post. You can still sign in to read this notice, appeal, and export your data.",
    ModAction.Kind.BAN: "Your account is suspended for good. Your profile and posts are hidden. You can still sign in to read this notice, appeal, and export your data.",
}
SUBJECTS: dict[str, str] = {
    ModAction.Kind.REMOVE: "Your post was removed",
    ModAction.Kind.LABEL: "Your post was given a content warning",
    ModAction.Kind.LIMIT: "Your post's reach was limited",
    ModAction.Kind.WARN: "A warning from the moderators",
    ModAction.Kind.HOLD_ACCOUNT: "Your posts will be reviewed before they are shown",
    ModAction.Kind.SUSPEND: "Your account is suspended",
    ModAction.Kind.BAN: "Your account is suspended for good",
}


def _duration(ends_at: datetime | None, kind: str) -> str:
    if kind in (ModAction.Kind.SUSPEND, ModAction.Kind.HOLD_ACCOUNT):
        if ends_at is None:
            return "Until a moderator lifts it."
        return f"Until {ends_at:%d %B %Y, %H:%M} UTC."
    if kind == ModAction.Kind.BAN:
        return "Permanent, unless an appeal succeeds."
    if kind == ModAction.Kind.WARN:
        return "Nothing to wait for."
    return "Until a moderator or an appeal changes it."


def compose(action: ModAction, *, guideline: str, evidence: Sequence[dict[str, Any]]) -> tuple[str, str]:
    """Return (subject, body) in plain text; the web page and the e-mail both show it."""
    subject = SUBJECTS.get(action.kind, "A moderation decision about your account")
    who = "The instance's policy did this automatically" if action.automated else "A moderator did this"
    lines = [
        WHAT_HAPPENED.get(action.kind, ""),
        "",
        f"Rule: {action.rule or 'the community guidelines'}",
    ]
    if guideline:
        lines.append(f"  {guideline}")
    if action.reason:
        lines += ["", f"Why: {action.reason}"]
    if evidence:
        lines += ["", "Evidence:"]
        for item in evidence:
            excerpt = (item.get("excerpt") or "").replace("\n", " ")
            lines.append(f"  - post {item.get('post_id')}: \u201c{excerpt[:280]}\u201d")
            scores = item.get("scores") or {}
            if scores:
                top = sorted(scores.items(), key=lambda kv: -kv[1])[:3]
                lines.append("    screener scores: " + ", ".join(f"{k} {v:.2f}" for k, v in top))
    lines += [
        "",
        f"Duration: {_duration(action.ends_at, action.kind)}",
        "",
        f"{who} under policy version {action.policy_version}.",
    ]
    if action.is_appealable:
        lines.append(
            "How to appeal: open this notice (Notifications → this notice, or /notices/"
            f"{action.pk}) and choose \u201cAppeal\u201d. A moderator other than the one who acted decides; "
            "you can add to the conversation until then."
        )
    return subject, "\n".join(lines)


def create_notice(action: ModAction, *, guideline: str, evidence: Sequence[dict[str, Any]]) -> Notice:
    """Write the notice in the caller's transaction; delivery (notification + e-mail) runs after commit."""
    subject, body = compose(action, guideline=guideline, evidence=evidence)
    notice = Notice.objects.create(account_id=action.account_id, action=action, subject=subject, body=body, created_at=now())
    events.emit("notice.created", notice_id=notice.pk)
    return notice
