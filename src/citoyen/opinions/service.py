"""The opinion map's public front: pages, the CLI, the demo, the app and the tests import from here. The rules
live by subject: `conversations` (adding and finding them), `voting` (taking part, and moderating participants'
statements), `groups` (the mathematics), `maps` (the stored map and its recomputation), `polis` (Pol.is's export
format, in and out), `open_data` (that export as the catalogue publishes it), `personal_data`; `tasks`
recomputes in the background."""

from citoyen.opinions.conversations import (
    QUESTION_MAX,
    ConversationInput,
    check_statement_text,
    conversations_of,
    create_conversation,
    get_conversation,
    is_open,
    set_closed,
    statements_of,
)
from citoyen.opinions.errors import OpinionError
from citoyen.opinions.groups import MIN_VOTES, MapResult, compute_map
from citoyen.opinions.maps import Recomputed, is_stale, recompute, stale_conversations, stored_map
from citoyen.opinions.models import STATEMENT_MAX, StatementStatus, Vote
from citoyen.opinions.open_data import MIN_PARTICIPANTS, PublicConversation, public_conversations, public_tables
from citoyen.opinions.personal_data import register_personal_data
from citoyen.opinions.polis import (
    COMMENT_COLUMNS,
    VOTE_COLUMNS,
    PolisExport,
    PolisFormatError,
    PolisTables,
    export_polis,
    import_polis,
    read_polis_export,
)
from citoyen.opinions.voting import (
    Progress,
    Standing,
    Voter,
    find_participant,
    moderate,
    moderation_queue,
    next_statement,
    parse_vote,
    progress,
    standing,
    standing_and_next,
    visible_statement,
    vote,
    votes_of,
    write_statement,
)

__all__ = [
    "COMMENT_COLUMNS",
    "MIN_PARTICIPANTS",
    "MIN_VOTES",
    "QUESTION_MAX",
    "STATEMENT_MAX",
    "VOTE_COLUMNS",
    "ConversationInput",
    "MapResult",
    "OpinionError",
    "PolisExport",
    "PolisFormatError",
    "PolisTables",
    "Progress",
    "PublicConversation",
    "Recomputed",
    "Standing",
    "StatementStatus",
    "Vote",
    "Voter",
    "check_statement_text",
    "compute_map",
    "conversations_of",
    "create_conversation",
    "export_polis",
    "find_participant",
    "get_conversation",
    "import_polis",
    "is_open",
    "is_stale",
    "moderate",
    "moderation_queue",
    "next_statement",
    "parse_vote",
    "progress",
    "public_conversations",
    "public_tables",
    "read_polis_export",
    "recompute",
    "register_personal_data",
    "set_closed",
    "stale_conversations",
    "standing",
    "standing_and_next",
    "statements_of",
    "stored_map",
    "visible_statement",
    "vote",
    "votes_of",
    "write_statement",
]
