"""The people domain's public front: routes, other domains and tests import from here. The rules live by
subject beside it: `accounts` (accounts and session claims), `sessions`, `login` (and its throttling),
`links` (sign-up, login links, password reset), `consents`, `access_log`, `personal_data` (export and
erasure), `admin` (roles, suspension, departments), `tokens` (API tokens) and `directory` (what other
domains may know of many people at once: display names, e-mail addresses, recipients, consents).

Other domains never read people's tables: they call these functions, and take the `Person`, `Role` and
`Department` types from here too (import-linter forbids them `citoyen.people.models`)."""

from __future__ import annotations

from citoyen.people.access_log import (
    ACCESS_ACTION_LABELS,
    ACCESS_DETAIL_LABELS,
    access_log,
    log_access,
)
from citoyen.people.accounts import (
    ACCOUNT,
    ROLE_LABELS,
    Account,
    Claim,
    change_locale,
    claim_holds,
    claim_holds_in_postgresql,
    claim_holds_now,
    create_person,
    find_person_by_email,
    get_account,
    get_person,
    normalize_email,
)
from citoyen.people.admin import (
    create_department,
    delete_department,
    department_names,
    list_departments,
    search_people,
    set_active,
    set_role,
)
from citoyen.people.consents import (
    CONSENT_PURPOSES,
    ConsentPurpose,
    current_consents,
    has_consent,
    record_consent,
)
from citoyen.people.directory import (
    Recipient,
    active_recipients,
    consenting,
    display_names,
    emails,
)
from citoyen.people.errors import (
    LoginThrottled,
    PeopleError,
)
from citoyen.people.links import (
    MailText,
    complete_password_reset,
    email_link_is_valid,
    follow_email_link,
    request_sign_up,
    reset_token_is_valid,
    start_password_reset,
)
from citoyen.people.login import (
    ACCOUNT_UNDER_ATTACK,
    TOO_MANY_FROM_HERE,
    authenticate,
)
from citoyen.people.models import (
    Department,
    Person,
    Role,
)
from citoyen.people.personal_data import (
    erase_person,
    export_as_csv_zip,
    export_personal_data,
    register_personal_data,
)
from citoyen.people.sessions import (
    SESSION_LIFETIME,
    end_all_sessions,
    end_session,
    live_sessions,
    open_session,
    signed_in_person,
    user_agent_summary,
)
from citoyen.people.tokens import (
    API_SCOPES,
    PERSONAL_SCOPES,
    ApiTokenCache,
    create_api_token,
    delete_tokens_created_by,
    list_api_tokens,
    revoke_api_token,
    tokens_created_by,
    verify_api_token,
)

__all__ = [
    "ACCESS_ACTION_LABELS",
    "ACCESS_DETAIL_LABELS",
    "ACCOUNT",
    "ACCOUNT_UNDER_ATTACK",
    "API_SCOPES",
    "CONSENT_PURPOSES",
    "PERSONAL_SCOPES",
    "ROLE_LABELS",
    "SESSION_LIFETIME",
    "TOO_MANY_FROM_HERE",
    "Account",
    "ApiTokenCache",
    "Claim",
    "ConsentPurpose",
    "Department",
    "LoginThrottled",
    "MailText",
    "PeopleError",
    "Person",
    "Recipient",
    "Role",
    "access_log",
    "active_recipients",
    "authenticate",
    "change_locale",
    "claim_holds",
    "claim_holds_in_postgresql",
    "claim_holds_now",
    "complete_password_reset",
    "consenting",
    "create_api_token",
    "create_department",
    "create_person",
    "current_consents",
    "delete_department",
    "delete_tokens_created_by",
    "department_names",
    "display_names",
    "email_link_is_valid",
    "emails",
    "end_all_sessions",
    "end_session",
    "erase_person",
    "export_as_csv_zip",
    "export_personal_data",
    "find_person_by_email",
    "follow_email_link",
    "get_account",
    "get_person",
    "has_consent",
    "list_api_tokens",
    "list_departments",
    "live_sessions",
    "log_access",
    "normalize_email",
    "open_session",
    "record_consent",
    "register_personal_data",
    "request_sign_up",
    "reset_token_is_valid",
    "revoke_api_token",
    "search_people",
    "set_active",
    "set_role",
    "signed_in_person",
    "start_password_reset",
    "tokens_created_by",
    "user_agent_summary",
    "verify_api_token",
]
