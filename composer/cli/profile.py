"""`event-composer profile list|add|edit|remove|use|storage`: profiles from the command line.

Keys are read from a hidden prompt, or from stdin when it is not a terminal; never from an
argument, where they would land in shell history and process listings.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from dataclasses import dataclass
from pathlib import Path

import orjson

from composer.cli.errors import CliError, ExitStatus
from composer.core.capture.hosts import HostError, resolve_host
from composer.core.capture.keys import KeyVerdict, check_project_key
from composer.paths import config_dir
from composer.profiles.book import (
    Profile,
    ProfileBook,
    ProfileError,
    load_book,
    profiles_path,
    save_book,
)
from composer.profiles.secrets import (
    ProfileSecret,
    SecretError,
    SecretStore,
    Storage,
    configured_timeouts,
    move_secrets,
    plaintext_default_path,
)

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

    def save(self) -> None:
        try:
            save_book(self.book, self.path)
        except ProfileError as exc:
            raise CliError(str(exc)) from None

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


def _store_secret(profiles: Profiles, profile: Profile, secret: ProfileSecret) -> Storage:
    try:
        return profiles.store.set(profile.id, secret)
    except SecretError as exc:
        raise CliError(f"the key was not saved: {exc.message} {KEYRING_HINT}.") from None


def cmd_list(args: argparse.Namespace) -> ExitStatus:
    profiles = Profiles.open()
    rows = []
    for profile in profiles.book.all():
        if profile.builtin:
            host = "the local sandbox (started by the window or `event-composer sandbox`)"
        else:
            try:
                secret = profiles.store.get(profile.id)
                host = secret.host if secret else "(no host stored)"
            except SecretError as exc:
                host = f"(unavailable: {exc.kind.value})"
        rows.append(
            {
                "name": profile.name,
                "host": host,
                "production": profile.production,
                "color": profile.color,
                "active": profile.id == profiles.book.active,
            }
        )
    if args.format == "json":
        sys.stdout.write(orjson.dumps({"profiles": rows}, option=orjson.OPT_INDENT_2).decode())
        sys.stdout.write("\n")
        return ExitStatus.OK
    for row in rows:
        mark = "*" if row["active"] else " "
        production = "  [production]" if row["production"] else ""
        print(f"{mark} {row['name']:<24} {row['host']}{production}")
    storage = profiles.store.storage.value
    where = profiles.book.plaintext_keys if profiles.book.plaintext_keys else "the system keyring"
    print(f"\nKeys are stored in {where} ({storage}). * marks the active profile.")
    return ExitStatus.OK


def cmd_add(args: argparse.Namespace) -> ExitStatus:
    profiles = Profiles.open()
    host = checked_host(args.host)
    key = read_key()
    try:
        profile = profiles.book.add(args.name, args.color, args.production)
    except ProfileError as exc:
        raise CliError(str(exc)) from None
    storage = _store_secret(profiles, profile, ProfileSecret(host, key))
    if args.use:
        profiles.book.active = profile.id
    profiles.save()
    where = "the system keyring" if storage is Storage.KEYRING else profiles.book.plaintext_keys
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
        _store_secret(profiles, profile, ProfileSecret(host, key))
    try:
        updated = profiles.book.update(profile.id, **changes) if changes else profile
    except ProfileError as exc:
        raise CliError(str(exc)) from None
    profiles.save()
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
    profiles.book.remove(profile.id)
    profiles.save()
    print(f"Removed profile {profile.name!r} and its key.")
    return ExitStatus.OK


def cmd_use(args: argparse.Namespace) -> ExitStatus:
    profiles = Profiles.open()
    profile = profiles.find(args.name)
    profiles.book.active = profile.id
    profiles.save()
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
    profiles.book.plaintext_keys = str(target_file) if target_file else None
    profiles.save()
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
