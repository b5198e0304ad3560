"""Mailboxes as data: what to take from a folder, in which batches, how far the mark goes,
and what the IMAP answers say."""

from __future__ import annotations

import pytest

from custom_components.email_incidents.core.mailbox import (
    BATCH_MESSAGES,
    AfterStore,
    ImapAnswerError,
    Security,
    fetched_bodies,
    fetched_sizes,
    mailbox_from_data,
    plan_batches,
    record_batch,
    record_flagged,
    record_too_large,
    search_criteria,
    search_uids,
    uid_set,
    uids_to_take,
    uidvalidity_of,
)
from custom_components.email_incidents.core.outcomes import IngestResult, Outcome, SourceOutcome
from custom_components.email_incidents.core.state import (
    EngineState,
    MailboxMark,
    state_from_data,
    state_to_data,
)

TAKEN = IngestResult(outcomes=(SourceOutcome(source_id="nas", outcome=Outcome.CREATED),), events=())
LEFT = IngestResult(outcomes=(), events=())


def test_settings_with_defaults() -> None:
    config = mailbox_from_data("m1", {"host": "imap.example.com", "username": "me"})
    assert (config.name, config.port, config.security, config.folder) == (
        "me",
        993,
        Security.SSL,
        "INBOX",
    )
    assert config.after_store is AfterStore.MARK_SEEN
    secret = {"host": "h", "username": "u", "password": "s3cret"}
    assert "s3cret" not in repr(mailbox_from_data("m1", secret))
    starttls = mailbox_from_data("m1", {"host": "h", "username": "u", "security": "starttls"})
    assert starttls.port == 143


def test_what_to_take() -> None:
    mark = MailboxMark(uidvalidity=7, uid=10)
    assert search_criteria(mark, 7) == ("UID", "11:*")
    assert search_criteria(mark, 8) == ("UNSEEN",)
    assert search_criteria(None, 7) == ("UNSEEN",)
    # `11:*` names the newest message even when it is below 11.
    assert uids_to_take([10], mark, 7) == []
    assert uids_to_take([12, 11, 12], mark, 7) == [11, 12]
    assert uids_to_take([3, 1], mark, 8) == [1, 3]


def test_batches_bounded_in_count_and_bytes() -> None:
    too_large, batches = plan_batches({1: 100, 2: 5000, 3: 100}, max_message_size=1000)
    assert (too_large, batches) == ([2], [[1, 3]])
    _, batches = plan_batches(dict.fromkeys(range(1, 2 * BATCH_MESSAGES + 2), 10), 1000)
    assert [len(batch) for batch in batches] == [BATCH_MESSAGES, BATCH_MESSAGES, 1]
    _, batches = plan_batches({1: 6_000_000, 2: 6_000_000}, 10_000_000)
    assert batches == [[1], [2]]


def test_uid_sets() -> None:
    assert uid_set([9, 1, 2, 3, 7, 10]) == "1:3,7,9:10"
    assert uid_set([5]) == "5"
    with pytest.raises(ValueError, match="empty"):
        uid_set([])


def test_marks_advance_and_survive_a_restart() -> None:
    state = EngineState()
    assert record_batch(state, "m1", 7, [1, 2, 3], [TAKEN, LEFT, TAKEN]) == [1, 3]
    assert state.mailbox_marks["m1"] == MailboxMark(uidvalidity=7, uid=3, unflagged=(1, 3))
    assert (state.counters["mailbox_taken_m1"], state.counters["mailbox_left_m1"]) == (2, 1)
    record_batch(state, "m1", 7, [4], [TAKEN])
    assert state.mailbox_marks["m1"].unflagged == (1, 3, 4)
    record_flagged(state, "m1", [1, 3])
    record_too_large(state, "m1", 7, [9])
    assert state.mailbox_marks["m1"] == MailboxMark(uidvalidity=7, uid=9, unflagged=(4,))
    assert state_from_data(state_to_data(state)).mailbox_marks == state.mailbox_marks
    # A renumbered folder starts a new mark; what was unflagged under old UIDs is forgotten.
    record_batch(state, "m1", 8, [1], [TAKEN])
    assert state.mailbox_marks["m1"] == MailboxMark(uidvalidity=8, uid=1, unflagged=(1,))
    record_too_large(state, "m2", 5, [4, 2])
    assert state.mailbox_marks["m2"] == MailboxMark(uidvalidity=5, uid=4)
    record_flagged(state, "unknown", [1])
    assert "unknown" not in state.mailbox_marks


def test_imap_answers() -> None:
    assert uidvalidity_of([b"OK [UIDVALIDITY 42] UIDs valid", b"done"]) == 42
    with pytest.raises(ImapAnswerError):
        uidvalidity_of([b"OK nothing"])
    assert search_uids([b"1 2 3", b"Search completed (0.001 secs)."]) == [1, 2, 3]
    assert search_uids([b"SEARCH 4 5", b""]) == [4, 5]
    assert search_uids([b"", b"Search completed."]) == []
    assert fetched_sizes(
        [b"1 FETCH (UID 7 RFC822.SIZE 300)", b"2 FETCH (FLAGS (\\Seen))", b"Fetch completed."]
    ) == {7: 300}
    with pytest.raises(ImapAnswerError):
        fetched_sizes([b"1 FETCH (RFC822.SIZE 300)"])
    body = bytearray(b"Subject: x\r\n\r\nhi\r\n")
    assert fetched_bodies(
        [b"1 FETCH (UID 7 BODY[] {%d}" % len(body), body, b")", b"3 FETCH (FLAGS ())", b"done"]
    ) == {7: bytes(body)}
    # The UID may come after the body, too.
    assert fetched_bodies([b"1 FETCH (BODY[] {%d}" % len(body), body, b" UID 8)"]) == {
        8: bytes(body)
    }
    for broken in (
        [b"1 FETCH (UID 7 BODY[] NIL)"],
        [b"1 FETCH (UID 7 BODY[] {99}", body, b")"],
        [b"1 FETCH (BODY[] {%d}" % len(body), body, b")"],
    ):
        with pytest.raises(ImapAnswerError):
            fetched_bodies(broken)
