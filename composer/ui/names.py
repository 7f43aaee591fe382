"""Accessible names: what screen readers announce and what tests find widgets by.

The names in REQUIRED are part of the product's contract (issues "The composer window" and
"A Persons view in the window").
"""

from __future__ import annotations

PAYLOAD_KIND = "Payload kind"
EVENT_NAME = "Event name"
DISTINCT_ID = "Distinct ID"
DISTINCT_ID_PLACEMENT = "Distinct ID placement"
TIMESTAMP = "Timestamp"
TIMESTAMP_NOW = "Set timestamp to now"
TIMESTAMP_PICK = "Pick timestamp date and time"
UUID = "UUID"
UUID_AUTO = "Automatic UUID"
ENDPOINT = "Endpoint"
PROPERTIES = "Properties"
SET = "Person properties to set"
SET_ONCE = "Person properties to set once"
ANON_DISTINCT_ID = "Anonymous distinct ID"
ALIAS = "Alias"
MERGE_DANGEROUSLY = "Merge dangerously"
GROUP_TYPE = "Group type"
GROUP_KEY = "Group key"
GROUP_PROPERTIES = "Group properties"
TARGET = "Profile"
ACTIVE_PROFILE = "Active profile"
HOST = "Host"
INBOX = "Inbox"
API_KEY = "Project API key"
SHOW_KEY = "Show key"
JSON_PREVIEW = "JSON preview"
EDIT_JSON = "Edit JSON"
COPY_BODY = "Copy body"
FINDINGS = "Findings"
PREDICTED_REPLY = "Predicted reply"
SEND = "Send"
CANCEL = "Cancel"
RESPONSE_STATUS = "Response status"
RESPONSE_BODY = "Response body"
RESPONSE_HEADERS = "Response headers"
RESPONSE_TIME = "Response time"
RESPONSE_SIZE = "Response size"
RESPONSE_GUIDANCE = "Response guidance"
SEND_HISTORY = "Send history"
RESPONSE_SEARCH = "Search response"
RESPONSE_RAW = "Raw response"
RESPONSE_COPY = "Copy response"
EDITOR_TABS = "Property editors"
ROOMS = "Compose, sandbox inbox and persons"
PERSONS = "Persons"
PERSON_SEARCH = "Person search"
PERSON_DETAILS = "Person details"
PERSON_SUMMARY = "Person summary"
PERSON_PROPERTIES = "Person properties"
MERGE_HISTORY = "Merge history"
PERSON_JSON = "Person JSON"
PERSONS_AND_GROUPS = "Persons and groups"
PERSONS_COUNT = "Persons count"
GROUPS = "Groups"
GROUP_DETAILS = "Group details"
CODE = "Code"
CODE_LANGUAGE = "Code language"
COPY_CODE = "Copy code"
INCLUDE_KEY = "Include the key in the code"
CODE_NOTES = "Code notes"
PASTE_CODE = "Code to paste"
PASTE_ERROR = "Why the code could not be read"

REQUIRED = (
    ROOMS,
    PAYLOAD_KIND,
    EVENT_NAME,
    DISTINCT_ID,
    TIMESTAMP,
    UUID,
    ENDPOINT,
    PROPERTIES,
    SET,
    SET_ONCE,
    ANON_DISTINCT_ID,
    ALIAS,
    GROUP_TYPE,
    GROUP_KEY,
    GROUP_PROPERTIES,
    HOST,
    API_KEY,
    JSON_PREVIEW,
    FINDINGS,
    SEND,
    CANCEL,
    RESPONSE_STATUS,
    RESPONSE_BODY,
    RESPONSE_HEADERS,
    RESPONSE_TIME,
    RESPONSE_SEARCH,
    RESPONSE_RAW,
    RESPONSE_COPY,
    PERSONS,
    PERSON_SEARCH,
    PERSON_DETAILS,
    GROUPS,
    CODE,
    CODE_LANGUAGE,
    COPY_CODE,
    INCLUDE_KEY,
)
