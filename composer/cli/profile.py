"""`event-composer profile list|add|edit|remove|use|storage`: profiles from the command line.

Keys are read from a hidden prompt, or from stdin when it is not a terminal; never from an
argument, where they would land in shell history and process listings.

Every command changes profiles.json with `change_book` (read, change, write under the file's
lock), so ten `profile add` runs started at once leave ten profiles.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import orjson

from composer.cli.errors import CliError, ExitStatus
from composer.core.capture.hosts import HostError, resolve_host
from composer.core.capture.keys import KeyVerdict, check_project_key
from composer.files import LockTimeout
from composer.paths import config_dir
from composer.profiles.book import (
    Profile,
    ProfileBook,
    ProfileError,
    change_book,
    load_book,
    new_id,
    profiles_path,
)
from composer.profiles.secrets import (
    KeyLocation,
    KeyState,
    ProfileSecret,
    SecretError,
    SecretStore,
    Storage,
    configured_timeouts,
    move_secrets,
    plaintext_default_path,
)

T = TypeVar("T")

KEYRING_HINT = (
    "For this shell only, set POSTHOG_PROJECT_API_KEY instead; or store keys in a plain-text"
    " file (not encrypted) with: event-composer profile storage plaintext"
)


@dataclass
class Profiles:
    """The profile book and the secret store it points at, for one command."""

    path: Path
    book: ProfileBook
    store: SecretStore

    @classmethod
    def open(cls) -> Profiles:
        path = profiles_path(config_dir())
        book = load_book(path)
        if book.problem:
            print(f"event-composer: {book.problem}", file=sys.stderr)
        keys = Path(book.plaintext_keys) if book.plaintext_keys else None
        read, write = configured_timeouts()
        store = SecretStore(plaintext_file=keys, read_timeout=read, write_timeout=write)
        return cls(path, book, store)

    def change(self, change: Callable[[ProfileBook], T]) -> T:
        """Apply one change to profiles.json as it is now (not to the copy read at open)."""
        try:
            book, result = change_book(self.path, change)
        except (ProfileError, LockTimeout) as exc:
            raise CliError(str(exc)) from None
        if book.problem:
            print(f"event-composer: {book.problem}", file=sys.stderr)
        self.book = book
        return result

    def find(self, name: str) -> Profile:
        profile = self.book.by_name(name)
        if profile is None:
            names = ", ".join(p.name for p in self.book.all())
            raise CliError(f"no profile named {name!r}; the profiles are: {names}.")
        return profile

    def secret(self, profile: Profile) -> ProfileSecret:
        try:
            secret = self.store.get(profile.id)
        except SecretError as exc:
            raise CliError(
                f"cannot read the key of {profile.name!r}: {exc.message} {KEYRING_HINT}."
            ) from None
        if secret is None:
            raise CliError(
                f"profile {profile.name!r} has no host and key stored (the keyring"
                f" entry is missing); set them with: event-composer profile edit"
                f" {profile.name!r} --host URL --new-key"
            )
        return secret


def read_key(prompt: str = "Project API key (phc_…): ") -> str:
    """The key from a hidden prompt, or the first line of stdin when piped."""
    key = (getpass.getpass(prompt) if sys.stdin.isatty() else sys.stdin.readline()).strip()
    verdict = check_project_key(key)
    if verdict.verdict is KeyVerdict.REFUSED:
        raise CliError(verdict.message)
    if verdict.verdict is KeyVerdict.WARNING:
        print(f"warning: {verdict.message}", file=sys.stderr)
    return key


def checked_host(text: str) -> str:
    try:
        host = resolve_host(text)
    except HostError as exc:
        raise CliError(f"--host: {exc}.") from None
    for finding in host.findings:
        print(f"warning: {finding.message} {finding.fix}", file=sys.stderr)
    return host.url


def _store_secret(profiles: Profiles, profile_id: str, secret: ProfileSecret) -> Storage:
    try:
        return profiles.store.set(profile_id, secret)
    except SecretError as exc:
        raise CliError(f"the key was not saved: {exc.message} {KEYRING_HINT}.") from None


def _other_store(profiles: Profiles) -> SecretStore | None:
    """The store keys are not read from now, where a key may have stayed behind (a move that
    failed half-way, or a plain-text file left from before)."""
    read, write = configured_timeouts()
    if profiles.store.plaintext_file is not None:
        return SecretStore(read_timeout=read, write_timeout=write)
    leftover = plaintext_default_path(config_dir())
    if leftover.exists():
        return SecretStore(plaintext_file=leftover, read_timeout=read, write_timeout=write)
    return None


def _key_location(profiles: Profiles, profile: Profile, other: list[SecretStore]) -> KeyLocation:
    """Where the profile's host and key really are, asking the store (not assuming)."""
    found = profiles.store.locate(profile.id)
    if found.state is not KeyState.MISSING:
        return found
    elsewhere = other[0].locate(profile.id) if other else found
    if elsewhere.state is KeyState.UNREADABLE:
        other.clear()  # a keyring that does not answer is not asked again for every profile
    elif elsewhere.state is not KeyState.MISSING:
        return KeyLocation(
            KeyState.MISSING,
            f"it is in {other[0].describe()}, but keys are read from"
            f" {profiles.store.describe()}; `event-composer profile storage"
            f" {other[0].storage.value}` reads them from there again (and moves the others"
            " there), or enter it again with `event-composer profile edit"
            f" {profile.name!r} --host URL --new-key`",
        )
    fix = f"event-composer profile edit {profile.name!r} --host URL --new-key"
    return KeyLocation(KeyState.MISSING, f"{found.reason}; set it with: {fix}")


def cmd_list(args: argparse.Namespace) -> ExitStatus:
    profiles = Profiles.open()
    other = [store] if (store := _other_store(profiles)) is not None else []
    rows: list[dict[str, Any]] = []
    for profile in profiles.book.all():
        if profile.builtin:
            host = "the local sandbox (started by the window or `event-composer sandbox`)"
            keys, why = "built-in", ""
        else:
            location = _key_location(profiles, profile, other)
            keys, why = location.state.value, location.reason
            if location.secret is not None:
                host = location.secret.host
            elif location.state is KeyState.UNREADABLE:
                host = "(unavailable)"
            else:
                host = "(no host stored)"
        rows.append(
            {
                "name": profile.name,
                "host": host,
                "keys": keys,
                "keys_problem": why,
                "production": profile.production,
                "color": profile.color,
                "active": profile.id == profiles.book.active,
            }
        )
    if args.format == "json":
        read_from = {"storage": profiles.store.storage.value, "file": profiles.book.plaintext_keys}
        document = {"profiles": rows, "keys_read_from": read_from}
        sys.stdout.write(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode())
        sys.stdout.write("\n")
        return ExitStatus.OK
    for row in rows:
        mark = "*" if row["active"] else " "
        production = "  [production]" if row["production"] else ""
        keys = f"keys: {row['keys']}"
        if row["keys_problem"]:
            keys += f" ({row['keys_problem']})"
        print(f"{mark} {row['name']:<24} {row['host']}{production}  {keys}")
    storage = profiles.store.storage.value
    where = profiles.book.plaintext_keys if profiles.book.plaintext_keys else "the system keyring"
    print(f"\nKeys are read from {where} ({storage}). * marks the active profile.")
    return ExitStatus.OK


def cmd_add(args: argparse.Namespace) -> ExitStatus:
    profiles = Profiles.open()
    host = checked_host(args.host)
    key = read_key()
    # Check the name and colour on a copy first, so a bad one stores no key; the real check
    # is made again on the file as it is when the profile is written.
    try:
        ProfileBook(list(profiles.book.profiles)).add(args.name, args.color, args.production)
    except ProfileError as exc:
        raise CliError(str(exc)) from None
    # The key is stored under the new profile's id before the profile is written, so that no
    # profile without a key appears in the list while the keyring is being slow.
    profile_id = new_id()
    storage = _store_secret(profiles, profile_id, ProfileSecret(host, key))

    def add(book: ProfileBook) -> Profile:
        profile = book.add(args.name, args.color, args.production, profile_id)
        if args.use:
            book.active = profile.id
        return profile

    try:
        profile = profiles.change(add)
    except CliError:
        # Another command took the name meanwhile: take the key back out, it belongs to nobody.
        with contextlib.suppress(SecretError):
            profiles.store.delete(profile_id)
        raise
    where = "the system keyring" if storage is Storage.KEYRING else profiles.store.plaintext_file
    print(f"Saved profile {profile.name!r} ({host}); its host and key are in {where}.")
    return ExitStatus.OK


def cmd_edit(args: argparse.Namespace) -> ExitStatus:
    profiles = Profiles.open()
    profile = profiles.find(args.name)
    if profile.builtin:
        raise CliError("the local sandbox profile cannot be changed.")
    changes: dict[str, object] = {}
    if args.new_name:
        changes["name"] = args.new_name
    if args.color:
        changes["color"] = args.color
    if args.production is not None:
        changes["production"] = args.production
    if args.host or args.new_key:
        try:
            current = profiles.store.get(profile.id)
        except SecretError:
            current = None
        if current is None and not (args.host and args.new_key):
            raise CliError(
                "the stored host and key cannot be read; give both --host and"
                " --new-key to replace them."
            )
        host = checked_host(args.host) if args.host else current.host  # type: ignore[union-attr]
        key = read_key() if args.new_key else current.key  # type: ignore[union-attr]
        _store_secret(profiles, profile.id, ProfileSecret(host, key))
    updated = profile
    if changes:
        updated = profiles.change(lambda book: book.update(profile.id, **changes))
    print(f"Updated profile {updated.name!r}.")
    return ExitStatus.OK


def cmd_remove(args: argparse.Namespace) -> ExitStatus:
    profiles = Profiles.open()
    profile = profiles.find(args.name)
    if profile.builtin:
        raise CliError("the local sandbox profile cannot be removed.")
    try:
        profiles.store.delete(profile.id)
    except SecretError as exc:
        raise CliError(
            f"the key could not be deleted from the keyring ({exc.message}); the"
            " profile is kept so you can try again."
        ) from None

    def remove(book: ProfileBook) -> None:
        if book.get(profile.id) is not None:  # gone already: another command removed it
            book.remove(profile.id)

    profiles.change(remove)
    print(f"Removed profile {profile.name!r} and its key.")
    return ExitStatus.OK


def cmd_use(args: argparse.Namespace) -> ExitStatus:
    profiles = Profiles.open()
    profile = profiles.find(args.name)

    def use(book: ProfileBook) -> None:
        if book.get(profile.id) is None:
            raise ProfileError(
                f"the profile {profile.name!r} was just deleted by another command or window."
            )
        book.active = profile.id

    profiles.change(use)
    print(f"Active profile: {profile.name}.")
    return ExitStatus.OK


def cmd_storage(args: argparse.Namespace) -> ExitStatus:
    profiles = Profiles.open()
    target_file = (
        (Path(args.file) if args.file else plaintext_default_path(config_dir()))
        if args.where == "plaintext"
        else None
    )
    new_store = SecretStore(plaintext_file=target_file)
    moved, problems = move_secrets(
        [p.id for p in profiles.book.profiles], profiles.store, new_store
    )
    names = {p.id: p.name for p in profiles.book.profiles}
    failed = [f"{names[pid]} ({why})" for pid, why in problems]

    def point_at(book: ProfileBook) -> None:
        book.plaintext_keys = str(target_file) if target_file else None

    profiles.change(point_at)
    if target_file:
        print(
            f"Keys are now stored in {target_file}, in plain text (not encrypted; readable"
            " by anyone who can read your files)."
        )
    else:
        print("Keys are now stored in the system keyring.")
    print(f"Moved {moved} profile key(s).")
    for item in failed:
        print(f"warning: could not move {item}", file=sys.stderr)
    return ExitStatus.FAILED if failed else ExitStatus.OK


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "profile",
        help="list, add, edit, remove and choose profiles (host and key in the OS keyring)",
        description="Profiles name a target: an ingestion host and a project key, kept in the"
        " OS keyring (service 'posthog-event-composer'), plus a colour and a production"
        " flag. Keys are read from a hidden prompt or stdin, never from an argument.",
        epilog="examples:\n"
        "  event-composer profile add 'Production US' --host us --production\n"
        "  printf '%s' \"$KEY\" | event-composer profile add Staging --host eu\n"
        "  event-composer profile list\n"
        "  event-composer profile use Staging\n"
        "  event-composer send batch.json --profile 'Production US' --yes",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = p.add_subparsers(title="profile commands", metavar="ACTION", required=True)

    listing = commands.add_parser("list", help="show the profiles (* marks the active one)")
    listing.add_argument("--format", choices=("text", "json"), default="text")
    listing.set_defaults(run=cmd_list)

    add = commands.add_parser("add", help="create a profile; asks for the key")
    add.add_argument("name")
    add.add_argument("--host", required=True, help="us, eu, or the ingestion URL")
    add.add_argument(
        "--production", action="store_true", help="ask before every send to this profile"
    )
    add.add_argument("--color", help="#rrggbb shown in the window")
    add.add_argument("--use", action="store_true", help="make it the active profile")
    add.set_defaults(run=cmd_add)

    edit = commands.add_parser("edit", help="rename a profile or change its host, key, flag")
    edit.add_argument("name")
    edit.add_argument("--name", dest="new_name", metavar="NEW_NAME", help="rename it")
    edit.add_argument("--host", help="a new ingestion host")
    edit.add_argument("--new-key", action="store_true", help="ask for a new key")
    edit.add_argument("--color", help="#rrggbb")
    flag = edit.add_mutually_exclusive_group()
    flag.add_argument("--production", dest="production", action="store_true", default=None)
    flag.add_argument("--no-production", dest="production", action="store_false")
    edit.set_defaults(run=cmd_edit)

    remove = commands.add_parser("remove", help="delete a profile and its key")
    remove.add_argument("name")
    remove.set_defaults(run=cmd_remove)

    use = commands.add_parser("use", help="make a profile the active one (window and CLI)")
    use.add_argument("name")
    use.set_defaults(run=cmd_use)

    storage = commands.add_parser(
        "storage", help="keep keys in the OS keyring (default) or a plain-text file"
    )
    storage.add_argument("where", choices=("keyring", "plaintext"))
    storage.add_argument(
        "--file", help="the plain-text file (default: keys-plaintext.json in the config folder)"
    )
    storage.set_defaults(run=cmd_storage)
