; Inno Setup script: a per-user installer (no admin prompt) around the PyInstaller onedir.
; Built on Windows only (Inno Setup does not run here): the GitHub Actions workflow runs
;   iscc /DAppVersion=0.1.0 packaging\windows\installer.iss
; after `pyinstaller packaging/pyinstaller/event-composer.spec` has made dist\event-composer\.
#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif

[Setup]
; The AppId identifies the install for upgrades and uninstall: never change it.
AppId={{8F0C2C6E-5B7A-4E0B-9B53-3C1E2D7A9F41}
AppName=PostHog Event Composer
AppVersion={#AppVersion}
AppPublisher=PostHog Event Composer developers
AppPublisherURL=https://github.com/posthog-event-composer/posthog-event-composer
DefaultDirName={localappdata}\Programs\PostHog Event Composer
DefaultGroupName=PostHog Event Composer
PrivilegesRequired=lowest
OutputDir=..\..\dist
OutputBaseFilename=PostHogEventComposer-{#AppVersion}-setup
SetupIconFile=..\icons\io.github.posthog_event_composer.ico
UninstallDisplayIcon={app}\event-composer.exe
LicenseFile=..\..\LICENSE
Compression=lzma2
SolidCompression=yes
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
WizardStyle=modern

[Files]
Source: "..\..\dist\event-composer\*"; DestDir: "{app}"; Flags: recursesubdirs createallsubdirs ignoreversion

[Icons]
Name: "{group}\PostHog Event Composer"; Filename: "{app}\event-composer.exe"
Name: "{userdesktop}\PostHog Event Composer"; Filename: "{app}\event-composer.exe"; Tasks: desktopicon

[Tasks]
Name: "desktopicon"; Description: "Create a desktop shortcut"; Flags: unchecked

[Registry]
; event-composer-cli.exe on the user's PATH, for `event-composer-cli validate ...` in a terminal.
Root: HKCU; Subkey: "Environment"; ValueType: expandsz; ValueName: "Path"; ValueData: "{olddata};{app}"; Check: NeedsAddPath(ExpandConstant('{app}'))

[Run]
Filename: "{app}\event-composer.exe"; Description: "Start PostHog Event Composer"; Flags: nowait postinstall skipifsilent

[Code]
function NeedsAddPath(Dir: string): boolean;
var
  Current: string;
begin
  if not RegQueryStringValue(HKEY_CURRENT_USER, 'Environment', 'Path', Current) then
    Result := True
  else
    Result := Pos(';' + Uppercase(Dir) + ';', ';' + Uppercase(Current) + ';') = 0;
end;
