"""The generic layer: the vocabulary of the operating system and the runtimes, below the
signature catalogue.

The catalogue (``signatures.yaml``) knows specific libraries' messages and what to extract
from each. This layer knows the words every runtime reuses, whatever the library: errno
texts and names (``Permission denied``/``EACCES``, ``Read-only file system``/``EROFS``,
``No space left on device``/``ENOSPC``, ``Too many open files``/``EMFILE``, ``Connection
refused``/``ECONNREFUSED``, ``no such host``/``ENOTFOUND``/``EAI_AGAIN``, timeouts),
runtime exception names (``java.nio.file.ReadOnlyFileSystemException``,
``AccessDeniedException``, ``java.net.ConnectException``, ``UnknownHostException``,
``SocketException (13)``, ``OutOfMemoryError``), a shell's ``unbound variable``, and the many
phrasings of a missing setting (``X is not set``, ``X must be set``, ``X is required``,
``missing X``, ``please set X``...), with the path, the host and port, the command or the
variable extracted from the line.

Each rule is tried on one normalised line (never on stack frames or info/debug records);
rules are in priority order for a line that names two things (``inotify ... no space left on
device`` is a watch limit, not a full disk). All patterns run on RE2.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from crashwatch.diagnosis import rx
from crashwatch.diagnosis.logread import LogLine
from crashwatch.model import Reason

#: Log levels: never a variable, quoted or not (``ERROR is required``).
LOG_LEVELS = frozenset({
    "ERROR", "FATAL", "WARN", "WARNING", "INFO", "DEBUG", "TRACE", "PANIC", "CRITICAL",
    "NOTICE", "SEVERE", "NOTE", "HINT", "ALERT", "EMERG", "EMERGENCY", "VERBOSE",
})
#: Words an unquoted phrasing may extract as a variable that never are one.
NOT_A_VARIABLE = LOG_LEVELS | frozenset({
    "FAIL", "FAILED", "FAILURE", "NULL", "NONE", "TRUE", "FALSE", "TODO", "USAGE", "HTTP",
    "HTTPS", "THE", "THIS", "THAT", "VALUE", "FIELD", "CONFIG", "KEY", "ENV", "REQUIRED",
    "MISSING", "UNDEFINED", "JSON", "YAML", "TOML", "DATA", "ALSO", "THEN", "WHEN", "MUST",
    "SOME", "YOUR", "DEFAULT", "NO", "ANY", "LOCAL", "GLOBAL", "BASE", "MAIN", "CUSTOM",
})

#: Quoted words that are a value, never a setting's name (``please set the value "true"``).
QUOTED_STOP = LOG_LEVELS | frozenset({"TRUE", "FALSE", "YES", "NO", "ON", "OFF", "NULL", "NONE"})

_VAR = r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|[A-Z]{4,}[A-Z0-9]*"
#: An environment variable's name as logs write it (``SECRET_KEY``, ``VAULT_ADDR``).
VAR = _VAR
_QUOTED_SETTING = r"[A-Za-z_][\w.-]*"
_ENVVAR_WORDS = r"env(?:ironment)?[ _-]?var(?:iable)?s?"


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    reason: Reason
    pattern: rx.Regex
    hints: tuple[str, ...]
    """Lower-case literals, one of which the lower-cased line must hold."""
    extract: str = ""
    """What to take from the line: path, host, command or variable (from the pattern)."""
    veto: rx.Regex | None = None
    """A line that also matches this is not this rule's."""
    spare: rx.Regex | None = None
    """A line that matches this is the rule's even when the veto matches too."""
    errors_only: bool = False
    """Only on a line that is no warning: its phrasing is also an everyday warning's
    (``Redis config not found, using in-memory cache``)."""
    frame_veto: rx.Regex | None = None
    """A line whose crash report has a frame matching this is not this rule's (a frame
    calling ``bind(...)`` above ``Cannot assign requested address``)."""
    default: str = ""
    """What a line of this rule means when it names no path or variable itself (SQLite's
    temporary directory error means ``/tmp``, the AWS SDK's ``MissingRegion`` means
    ``AWS_REGION``)."""
    read_only_explains: bool = False
    """A denial that a read-only root filesystem explains when its path is on no writable
    volume (logcause then names ``ReadOnlyFilesystem``)."""
    only_read_only: bool = False
    """A failure that counts only where the root filesystem is read-only and the path is on
    no writable volume (logcause checks): a write that failed without saying why."""
    unless_env: tuple[tuple[str, str], ...] = ()
    """Env settings (name, literal value; ``*`` for any) under which the line means
    something else (``DOTNET_EnableDiagnostics=0``: CoreCLR writes no diagnostic pipes to
    /tmp; an AWS SDK that finds no region where the spec sets one is not missing it)."""


def _rule(id_: str, reason: Reason, pattern: str, hints: Sequence[str], extract: str = "",
          veto: str | None = None, ignorecase: bool = True, errors_only: bool = False,
          frame_veto: str | None = None, default: str = "",
          read_only_explains: bool = False, only_read_only: bool = False,
          unless_env: Sequence[tuple[str, str]] = (), spare: str | None = None) -> Rule:
    return Rule(
        id=f"generic-{id_}",
        reason=reason,
        pattern=rx.compile(pattern, ignorecase=ignorecase),
        hints=tuple(hints),
        extract=extract,
        veto=rx.compile(veto, ignorecase=True) if veto else None,
        spare=rx.compile(spare) if spare else None,
        errors_only=errors_only,
        frame_veto=rx.compile(frame_veto) if frame_veto else None,
        default=default,
        read_only_explains=read_only_explains,
        only_read_only=only_read_only,
        unless_env=tuple(unless_env),
    )


#: What a warning that carries on says: it is not why a process exited.
_CARRIES_ON = (r"\busing\b|falling back|fall back|fallback|default|disabled|waiting|\byet\b|"
               r"retry|retrying|skipping|ignor")


WRITE_FAILED = "write-failed"
NAME_RESOLUTION = "name-resolution"
_DB_PRIVILEGE = (r"permission denied for (?:table|schema|relation|database|sequence|function|"
                 r"view|column|tablespace)|access denied for user|authentication failed|"
                 r"password authentication|not authorized to execute|unauthorized")
#: A remote API refusing a request (Vault's ``Code: 403. Errors: * permission denied``, a
#: JSON body's ``"code":403``): a policy or a credential of that service, not the operating
#: system denying a file.
_HTTP_DENIAL = (r"\b(?:code|status(?: code)?|HTTP(?:/\d(?:\.\d)?)?)[\"']?[:=]? ?40[13]\b|"
                r"\b403 Forbidden\b|\b401 Unauthorized\b")

#: A thread the kernel refused to start (Go's ``runtime/cgo: pthread_create failed: Operation
#: not permitted``: a seccomp filter older than the image's libc, which calls clone3): no
#: file, directory or port is denied.
_THREAD_DENIED = (r"pthread_create failed|\bclone3?\b[^\n]{0,40}(?:not permitted|EPERM)|"
                  r"(?:failed|unable) to create (?:a |new |native )?(?:OS )?thread")

#: The AWS SDK for Go v2 naming a service's operation that failed (``operation error
#: ec2imds: GetMetadata, ``); one operation's error may hold another's (``operation error
#: Elastic Load Balancing v2: DescribeLoadBalancers, get identity: get credentials: ...
#: operation error ec2imds: GetMetadata, canceled, context deadline exceeded``).
_AWS_OPERATION = r"\boperation error (?P<service>[A-Za-z0-9][\w .-]{0,40}): \w+, "
_AWS_OPERATION_RX = rx.compile(_AWS_OPERATION)


RULES: tuple[Rule, ...] = (
    # A watch or descriptor limit first: inotify reports its limit as ENOSPC.
    _rule("too-many-open-files", Reason.TOO_MANY_OPEN_FILES,
          r"too many open files|\bE[MN]FILE\b|inotify.{0,80}(?:limit|no space left|too many|"
          r"reached|exceeded)|(?:limit|number) of inotify|max_user_(?:watches|instances)|"
          r"user limit \(\d+\) on the number of inotify|cannot raise (?:the )?FD limit|"
          r"(?:limit|number) (?:for|of) (?:the )?"
          r"(?:number of )?file watchers|file watchers? limit|watch(?:es|er)? limit (?:reached|"
          r"exceeded)|ulimit -n|"
          # a start-up check of the descriptor limit (Elasticsearch's bootstrap check:
          # ``max file descriptors [1024] for elasticsearch process is too low``)
          r"(?:max(?:imum)?|number of|open) (?:number of )?(?:open )?file descriptors\b"
          r"[^\n]{0,80}(?:too low|increase|at least|insufficient|not enough)",
          ("open files", "emfile", "enfile", "inotify", "max_user_", "watcher", "watch limit",
           "ulimit -n", "file descriptors", "fd limit"),
          extract="path"),
    _rule("disk-full", Reason.DISK_FULL,
          r"no space left on device|\bENOSPC\b|disk quota exceeded|\bEDQUOT\b|"
          r"not enough space on the disk|database or disk is full|disk is full|"
          r"could not (?:extend|write to) file.{0,200}space",
          ("no space", "enospc", "quota", "not enough space", "disk is full", "disk full"),
          extract="path"),
    _rule("read-only-filesystem", Reason.READ_ONLY_FILESYSTEM,
          r"read-only file ?system|\bEROFS\b|ReadOnlyFileSystemException|"
          r"(?:on|to|in|into) (?:a |the )?read[- ]only (?:directory|volume|mount(?:point)?|"
          r"disk|path|folder)",
          ("read-only file", "erofs", "readonlyfilesystem", "read-only ", "read only "),
          extract="path"),
    _rule("exec-format", Reason.EXEC_FORMAT_ERROR,
          r"exec format error|\bENOEXEC\b|cannot execute binary file",
          ("exec format", "enoexec", "cannot execute binary"), extract="command"),
    _rule("heap-exhausted", Reason.HEAP_EXHAUSTED,
          # never a JVM flag's name (``-XX:OnOutOfMemoryError="kill -9 %p"``,
          # ``-XX:+ExitOnOutOfMemoryError``)
          r"(?:^|[^\w:+])(?:[\w.$]+\.)?OutOfMemoryError|JavaScript heap out of memory|"
          r"Reached heap limit|"
          r"heap limit Allocation failed|runtime: out of memory|fatal error: out of memory|"
          r"(?:^|[\s.:])MemoryError\b|OutOfMemoryException|NoMemoryError|"
          r"failed to allocate memory|Allowed memory size of \d+ bytes exhausted|"
          r"Cannot allocate memory|\bENOMEM\b|(?:^|\W)out of memory\b",
          ("memory", "enomem"),
          # a GPU's memory is no runtime's heap: PyTorch's ``torch.OutOfMemoryError: CUDA out
          # of memory. Tried to allocate ...`` (a smaller batch or model, not -Xmx)
          veto=r"unable to create (?:new )?native thread|OOMKilled|oom[-_ ]kill|Killed process|"
               r"\bCUDA\b|\bGPU\b|cudaErrorMemoryAllocation|CUBLAS_STATUS_ALLOC_FAILED|"
               r"\bHIP out of memory|\bXPU out of memory",
          # a line naming a runtime's heap is the heap's, whatever else it names (a thread or
          # host called ``gpu-...`` over ``java.lang.OutOfMemoryError: Java heap space``)
          spare=r"Java heap space|JavaScript heap out of memory|GC overhead limit exceeded|"
                r"OutOfMemoryError: Metaspace|heap limit Allocation failed"),
    _rule("segfault", Reason.SEGFAULT,
          r"segmentation fault|\bSIGSEGV\b|signal 11\b|\bsegfault\b",
          ("segmentation", "sigsegv", "signal 11", "segfault")),
    _rule("file-permissions", Reason.PERMISSION_DENIED,
          r"must be accessible by (?:the )?owner only|permissions? .{0,60}(?:are|is) too open|"
          r"has group or world access|has invalid permissions|bad permissions|"
          r"insecure permissions|UNPROTECTED PRIVATE KEY FILE|(?:wrong|incorrect) "
          r"(?:file )?(?:permissions|ownership|owner)|is not owned by|must be owned by",
          ("owner", "permission", "group or world", "unprotected", "owned by"),
          extract="path"),
    # No temporary directory to write to: SQLite's ``disk I/O error (6410)``
    # (SQLITE_IOERR_GETTEMPPATH, https://www.sqlite.org/rescode.html#ioerr_gettemppath),
    # Python's ``No usable temporary directory found in ['/tmp', ...]``, Elixir's ``could not
    # get a writable temporary directory, please set the TMPDIR environment variable`` (no
    # missing setting: TMPDIR is optional). Denied, or a read-only root when /tmp is on no
    # writable volume, as ``not writable`` below.
    _rule("no-temp-dir", Reason.PERMISSION_DENIED,
          r"SQLITE_IOERR_GETTEMPPATH|disk I/O error \(6410\)|"
          r"no usable temporary directory found|could not get a writable temporary directory",
          ("gettemppath", "6410", "temporary directory"), extract="path", errors_only=True,
          default="/tmp", read_only_explains=True),
    # A program that must become root and may not: ``su: must be suid to work properly``
    # (su run by a non-root user), sudo's ``effective uid is not 0, is sudo installed setuid
    # root?`` and ``The "no new privileges" flag is set`` (allowPrivilegeEscalation: false)
    _rule("no-privilege-escalation", Reason.PERMISSION_DENIED,
          r"must be suid to work properly|effective uid is not 0|"
          r"\"no new privileges\" flag is set",
          ("must be suid", "effective uid is not 0", "no new privileges")),
    _rule("permission-denied", Reason.PERMISSION_DENIED,
          r"permission denied|\bEACCES\b|operation not permitted|\bEPERM\b|"
          r"AccessDeniedException|UnauthorizedAccessException|"
          r"Access to the path .{1,300} is denied|SocketException \(13\)|PermissionError|"
          r"insufficient permissions? to|(?:operating system|OS) error (?:number |code )?13\b|"
          r"\b(?:errno|errcode|error number):? 13\b|does not have (?:the )?access rights|"
          r"\bfile access denied\b",
          ("permission", "eacces", "not permitted", "eperm", "accessdenied", "unauthorizedaccess",
           "access to the path", "socketexception (13)", "13", "access rights",
           "file access denied"),
          extract="path", veto=_DB_PRIVILEGE + "|" + _HTTP_DENIAL + "|" + _THREAD_DENIED),
    _rule("unbound-variable", Reason.MISSING_ENV,
          r"(?:^|[\s:])\$?\{?(?P<variable>[A-Za-z_][A-Za-z0-9_]*)\}?: (?:unbound variable|"
          r"parameter (?:null or )?not set)",
          ("unbound variable", "parameter not set", "parameter null or not set"),
          extract="variable", ignorecase=False),
    # An AWS SDK that finds no region: Go v1's ``MissingRegion: could not find region
    # configuration``, Go v2's ``an AWS region is required, but was not found``, boto3's
    # ``NoRegionError: You must specify a region.``, Java's ``Unable to load region from any
    # of the providers in the chain``, Java v1's ``Unable to find a region via the region
    # provider chain`` and ``Unable to load region information from any provider in the
    # chain``: AWS_REGION is not set. A warning's (an SDK that fell back to a default) is not,
    # nor one where the spec sets a region (then the SDK is not reading it: no missing var).
    _rule("missing-aws-region", Reason.MISSING_ENV,
          r"MissingRegion: could not find region configuration|"
          r"an AWS region is required, but was not found|NoRegionError: You must specify a region|"
          r"Unable to load region from any of the providers in the chain|"
          r"Unable to find a region via the region provider chain|"
          r"Unable to load region information from any provider in the chain",
          ("region",), extract="variable", ignorecase=False, errors_only=True,
          default="AWS_REGION", unless_env=(("AWS_REGION", "*"), ("AWS_DEFAULT_REGION", "*"))),
    # One of two settings, neither given: django-environ's and the like's ``Either
    # "SECRET_KEY" or "SECRET_KEY_FILE" settings parameters must be set.`` (the first named;
    # ahead of the rule below, which would read ``"SECRET_KEY_FILE" must be set`` in the
    # shorter ``Either "SECRET_KEY" or "SECRET_KEY_FILE" must be set.``)
    _rule("missing-setting-either", Reason.MISSING_ENV,
          rf"(?i:either)\s+['\"`]?\$?(?P<variable>{_VAR})['\"`]?\s+(?i:or)\s+['\"`]?\$?"
          rf"(?:{_VAR})['\"`]?\s+(?i:(?:(?:{_ENVVAR_WORDS}|settings?|config(?:uration)?|"
          r"parameters?|options?|variables?|values?)\s+){0,3}(?:must|needs? to|has to|should) be "
          r"(?:set|provided|defined|specified|configured|given))\b",
          ("either",), extract="variable", ignorecase=False),
    _rule("missing-setting-named-first", Reason.MISSING_ENV,
          rf"(?:^|[\s:'\"`(\[{{=])['\"`]?\$?\{{?(?P<variable>{_VAR})\}}?['\"`]?,?\s+"
          rf"(?i:(?:{_ENVVAR_WORDS}\s+|(?:config(?:uration)? )?"
          r"(?:setting|option|variable|value)\s+)?"
          r"(?:(?:must|needs to|should|has to) be (?:set|provided|defined|specified|configured|"
          r"present|non-empty|given)|(?:is |was |has not been |are |were )?(?:an? )?"
          r"(?:not set|unset|"
          r"not defined|undefined|not provided|not specified|not configured|not present|"
          r"missing|empty|required|mandatory|blank)\b|can(?:not|'t) be (?:empty|blank|null)|"
          r"must not be (?:empty|blank|null)|(?:is )?not (?:set|defined|found) in (?:the )?"
          r"environment))",
          ("set", "defined", "provided", "specified", "configured", "missing", "empty",
           "required", "mandatory", "blank", "present", "given", "environment"),
          extract="variable", ignorecase=False),
    _rule("missing-setting-named-after", Reason.MISSING_ENV,
          rf"(?i:(?:missing|required|undefined|unset|mandatory|absent|empty|no)\s+"
          rf"(?:required\s+)?(?:mandatory\s+)?(?:{_ENVVAR_WORDS}|config(?:uration)?"
          r"(?:\s+(?:key|variable|property|option|setting|value|parameter)s?)?|settings?|"
          r"propert(?:y|ies)|options?|parameters?|secrets?|keys?|variables?|value for)\b"
          r"(?:\s*\(\w+\))?:?)\s+['\"`]?\$?\{?(?P<variable>" + _VAR + r")\b",
          ("missing", "required", "undefined", "unset", "mandatory", "absent", "empty", "no "),
          extract="variable", ignorecase=False),
    # ``Missing DATABASE_URL.`` (an Erlang badmatch term, a Node check): a bare word of
    # this vocabulary before a SNAKE_CASE name (one underscore at least: ``missing HTTP``
    # names no setting; ``unset HTTP_PROXY`` is a shell command, in a ``set -x`` trace).
    _rule("missing-setting-bare", Reason.MISSING_ENV,
          r"(?:^|[\s\"'`(\[{:,])(?i:missing|undefined)\s+['\"`]?\$?\{?"
          r"(?P<variable>[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)\b",
          ("missing", "undefined"), extract="variable", ignorecase=False,
          veto=r"capabilit|\bCAP_[A-Z_]+|symbol|reference to|header"),
    _rule("missing-setting-please-set", Reason.MISSING_ENV,
          r"(?i:please|you must|you need to|must|need to|make sure to)\s+(?i:either\s+)?"
          r"(?i:set|provide|define|specify|configure|export)\s+"
          r"(?i:(?:one|any|at least one) of\s+|either\s+)?(?i:the\s+)?"
          rf"(?i:{_ENVVAR_WORDS}\s+)?['\"`]?\$?(?P<variable>{_VAR})\b",
          ("set", "provide", "define", "specify", "configure", "export"),
          extract="variable", ignorecase=False),
    # Settings said to be missing, then the one to give in an imperative sentence: Langfuse's
    # ``Required database environment variables are not set. Provide a postgres url for
    # DATABASE_URL.``
    _rule("missing-setting-provide-for", Reason.MISSING_ENV,
          r"(?i:not set|missing|required|undefined|not defined|not provided)[^\n]{0,120}?[.:;!]\s+"
          r"(?i:please\s+)?(?i:provide|set|specify|define|supply)\s+(?:[\w-]+\s+){0,4}?"
          rf"(?i:for|in|as|via)\s+['\"`]?\$?(?P<variable>{_VAR})\b"
          # the name ends the clause (``... for DATABASE_URL.``, ``... in FOO_BAR env var``);
          # a word after it makes it a product's name (``set a token for GITHUB access``)
          r"['\"`]?(?:\s*$|[^\w\s'\"`]|[ \t]+(?:[^a-z\s]|(?i:env|environment|variable|var|"
          r"setting)\b))",
          ("provide", "set", "specify", "define", "supply"), extract="variable",
          ignorecase=False, errors_only=True),
    _rule("missing-setting-envvar-named", Reason.MISSING_ENV,
          rf"(?i:{_ENVVAR_WORDS})\s+(?i:named\s+)?['\"`$]?\{{?(?P<variable>{_VAR})\}}?['\"`]?,?\s+"
          r"(?i:(?:because (?:it|the variable) )?(?:is\s+|was\s+|has not been\s+)?"
          r"(?:not set|unset|missing|required|undefined|"
          r"not defined|not provided|not found|does not exist|empty|must be (?:set|provided|"
          r"defined)))",
          ("env", "variable"), extract="variable", ignorecase=False),
    _rule("missing-setting-quoted", Reason.MISSING_ENV,
          r"(?:missing|required|undefined|no value (?:set |found |given |provided )?for)\s+"
          r"(?:required\s+)?(?:config(?:uration)?\s+|setting\s+|property\s+|option\s+|"
          r"parameter\s+|key\s+|flags?\(s\)\s+|variable\s+|env(?:ironment)? var(?:iable)?\s+)?"
          rf"['\"`](?P<variable>{_QUOTED_SETTING})['\"`]"
          r"|required flag\(s\) \"(?P<variable2>[\w-]+)\"[^\n]{0,200} not set"
          r"|(?:no|missing) (?:required )?(?:connection string|setting|config(?:uration)? value|"
          r"property|option|secret) (?:named|called|for|at) ['\"`](?P<variable4>[\w.:-]+)['\"`]"
          # Strapi: ``Missing jwtSecret. Please, set configuration variable "jwtSecret"``
          r"|(?:please,?|you must|must|need to) (?:set|provide|define|specify|configure) (?:the )?"
          r"(?:config(?:uration)? |env(?:ironment)? )?(?:variable|setting|option|property|key)"
          r" ['\"`](?P<variable5>[\w.:-]+)['\"`]"
          rf"|['\"`](?P<variable3>{_QUOTED_SETTING})['\"`] (?:(?:attribute|property|setting|"
          rf"option|parameter|field|key|{_ENVVAR_WORDS}) )?(?:is|must be) (?:required|not set|"
          r"not specified|not provided|not configured|missing|mandatory)\b",
          ("missing", "required", "no value", "not set", "mandatory", "named", "called",
           "not specified", "not provided", "not configured", "set ", "provide", "define",
           "specify", "configure"),
          extract="variable"),
    # A configuration that lacks a field its program requires: serde's ``missing field
    # `topics``` in Vector's ``Configuration error.``, controller options' ``validating
    # options, missing field, cluster-name`` (Karpenter), Mimir's ``no s3 endpoint in config
    # file``. serde's words alone also say an API answer lacked a field: a configuration must
    # be what the line is about.
    _rule("missing-config-field", Reason.MISSING_ENV,
          r"(?i:config(?:uration)?|settings|options|\.toml|\.ya?ml)\b[^\n]{0,80}?"
          r"missing (?:required )?field,? ['\"`]?(?P<variable>[A-Za-z_][\w.-]*)['\"`]?"
          r"|\bno (?P<variable2>[\w.-]+(?: [\w.-]+){0,2}) (?:in|from) (?:the )?"
          r"config(?:uration)? file(?:\s*$|[.,;:)'\"])"
          # Keycloak: ``Strict hostname resolution configured but no hostname setting
          # provided``
          r"|\bno (?P<variable4>[\w.-]+) (?:setting|option|property|parameter) (?:was |has been )?"
          r"(?:provided|given|configured|specified|set)\b"
          # the toml crate's report says the field on a line of its own, below the file's
          # position (``TOML parse error at line 1, column 1`` ... ``missing field
          # `logging```); serde_json's about an answer says where in it (``at line 8``)
          r"|^\s*missing field `(?P<variable3>[A-Za-z_][\w.-]*)`\s*$",
          ("missing field", "missing required field", "config file", "configuration file",
           " setting ", " option ", " property ", " parameter "),
          extract="variable",
          # not an API's answer or request (``settings from the API: Deserialization
          # Error: missing field `id```), a manifest's schema (kubectl's
          # ``ValidationError(DaemonSet.spec): missing required field "selector" in
          # io.k8s.api.apps.v1.DaemonSetSpec``), nor a report that a file has nothing wrong
          # (``no errors found in config file``), nor a program that carries on without it
          veto=r"\b(?:response|request|payload|reply)\b|"
          r"\b(?:from|of|by|to) (?:the )?(?:\w+ )?API\b|\bAPI (?:response|call|request|error)|"
          r"ValidationError\(|error validating data|"
          r"missing required field ['\"`]?[\w.-]+['\"`]? in [\w.]+\.v\d|"
          r"\bno (?:errors?|changes?|issues?|problems?|warnings?|differences?|updates?|"
          r"modifications?)\b(?: \w+)? (?:in|from) (?:the )?config|" + _CARRIES_ON),
    # ``error: Environment variable not found: DATABASE_URL.`` (Prisma), ``Required setting
    # missing: X``: the kind, what is wrong with it, a colon, then the name.
    _rule("missing-setting-label-colon", Reason.MISSING_ENV,
          rf"(?i:{_ENVVAR_WORDS}|config(?:uration)?(?:\s+(?:key|variable|property|value|"
          r"setting|option)s?)?|settings?|propert(?:y|ies)|parameters?|options?)\s+"
          r"(?i:not found|not set|missing|undefined|not defined|not provided|(?:is )?required)"
          rf"\s*:\s*['\"`]?\$?\{{?(?P<variable>{_VAR})\b",
          ("not found", "not set", "missing", "undefined", "not defined", "not provided",
           "required"),
          extract="variable", ignorecase=False),
    # SmallRye Config (Quarkus) and the like: ``SRCFG00014: Property sitewhere.config.k8s.pod.ip
    # not found``, ``The config property backend.check-alarms is required but it could not be
    # found``: a dotted property (or an env-style name) said not to be found or required.
    _rule("missing-setting-property-not-found", Reason.MISSING_ENV,
          r"(?:^|[\s:])(?i:(?:config(?:uration)?\s+)?property)\s+['\"`]?"
          rf"(?P<variable>[A-Za-z_][\w-]*(?:\.[\w-]+)+|{_VAR})['\"`]?\s+"
          r"(?i:(?:was\s+)?not found|(?:is|was)\s+(?:required|missing|not set|not defined)|"
          r"could not be found|cannot be found)",
          ("property",), extract="variable", ignorecase=False,
          veto=r"on (?:type|object|class|bean|instance)|of type|in class|or field"),
    # A wrapped error naming the setting, then that it must be given: Temporal's
    # ``persistence config: datastore "visibility": must provide config for one and only one
    # datastore``, ``must specify a value for 'region'``.
    _rule("missing-setting-must-provide", Reason.MISSING_ENV,
          r"['\"`](?P<variable>[\w.-]+)['\"`]:\s+must (?:provide|specify|supply|set|configure|"
          r"define) (?:a |an |the )?(?:config(?:uration)?|value|setting|section)s?\b|"
          r"\bmust (?:provide|specify|supply) (?:a |an |the )?(?:config(?:uration)?|value|"
          r"setting)s? for (?:the )?['\"`](?P<variable2>[\w.-]+)['\"`]",
          ("must provide", "must specify", "must supply", "must set", "must configure",
           "must define"),
          extract="variable", errors_only=True,
          veto=r"\b(?:greater|less|between|at least|at most|valid|positive|negative|range|"
               r"format|integer|number|one of)\b"),
    # A named section of the configuration said to be absent: a Backstage plugin's
    # ``Error: Kubernetes configuration is missing``, ``app.kafka config not found``.
    _rule("missing-setting-section", Reason.MISSING_ENV,
          r"(?:^|[\s:'\"`(])(?P<variable>[A-Z][\w-]*|[a-z][\w-]*(?:\.[\w-]+)+) "
          r"[Cc]onfig(?:uration)? (?:section )?(?:is |was )?(?:missing|not (?:set|provided|"
          r"specified|configured|found|defined))\b",
          ("missing", "not set", "not provided", "not specified", "not configured", "not found",
           "not defined"),
          extract="variable", ignorecase=False, errors_only=True, veto=_CARRIES_ON),
    _rule("command-not-found", Reason.COMMAND_NOT_FOUND,
          r"(?:^|[\s:])(?P<command>[\w./-]+): (?:command )?not found\s*$|"
          r"(?P<command2>[\w./-]+): cannot execute: required file not found|"
          r"executable file not found in \$PATH|exec: \"(?P<command3>[^\"]+)\": "
          r"(?:executable file not found|stat [^:]+: no such file)|"
          # a program that starts another: Java's ``Cannot run program "x": error=2, No such
          # file or directory``, Node's ``spawn x ENOENT``
          r"Cannot run program \"(?P<command4>[^\"]+)\"[^\n]{0,80}error=2\b|"
          r"\bspawn (?P<command5>[\w./-]+) ENOENT|"
          # tini and other inits: ``[FATAL tini (8)] exec x failed: No such file or directory``
          r"\bexec (?P<command6>[\w./-]+) failed: No such file or directory|"
          # bash running a relative path that is not there (``/myapp/start: line 10:
          # bin/rails: No such file or directory``); a redirect's target names a data file
          # (``line 3: ./logs/out.log: ...``) or an absolute path, and is no command
          r"^\S+: line \d+: (?P<command7>(?:\.{1,2}|[\w-]+)/(?:[\w.-]+/)*[\w-]+"
          r"(?:\.(?:sh|py|rb|pl|js))?): No such file or directory\s*$|"
          # a script whose interpreter is not there: ``x.sh: /bin/sh^M: bad interpreter: No
          # such file or directory`` (a ``^M``: the script has Windows line endings)
          r"(?P<command8>/[\w./-]+(?:\^M|\r)?): bad interpreter: No such file or directory|"
          # bash reading such a script: ``line 2: $'\r': command not found``
          r"(?P<command9>\$'\\r'): command not found|"
          # runc, when the entrypoint (or the loader it names) is not in the image:
          # ``standard_init_linux.go:228: exec user process caused: no such file or
          # directory`` (``caused "no such file or directory"`` before runc 1.0)
          r"exec user process caused:? \\?\"?no such file or directory|"
          # dash given a script that is not there (its line 0: the command line, not a
          # redirect inside a script): ``/bin/sh: 0: cannot open ./start-server.sh: No such
          # file`` (``Can't open`` before dash 0.5.11)
          r"^(?:/bin/|/usr/bin/)?(?:sh|dash): 0: (?i:can(?:not|'t) open) "
          r"(?P<command10>[\w./-]+)(?:: No such file)?\s*$|"
          # BusyBox's sh (Alpine) given a script that is not there: ``/bin/sh: can't open
          # '/app/docker-entry.sh': No such file or directory`` (inside a script it names the
          # script and its line instead of ``sh``)
          r"^(?:/bin/|/usr/bin/)?(?:sh|ash): can't open '(?P<command11>[^'\n]+)': "
          r"No such file or directory\s*$|"
          # util-linux's and the like's runners, in another namespace or root (Longhorn's
          # ``nsenter [--mount=/host/proc/1/ns/mnt ...] ... nsenter: failed to execute
          # iscsiadm: No such file or directory``: the host lacks the program)
          # (coreutils' chroot quotes ``/bin/bash`` with U+2018 and U+2019 in a UTF-8 locale;
          # busybox's says ``chroot: can't execute '/bin/bash'``)
          r"\b(?:nsenter|chroot|setpriv|unshare|runuser|gosu|su-exec): (?:failed to "
          r"(?:execute|run command)|can't execute) ['\"`\x{2018}]?(?P<command12>[\w./-]+)"
          r"['\"`\x{2019}]?: No such file or directory",
          ("not found", "cannot run program", "enoent", "no such file", "open"),
          extract="command"),
    _rule("connection-refused", Reason.DEPENDENCY_UNREACHABLE,
          r"connection refused|\bECONNREFUSED\b|Errno 111\b|actively refused|"
          r"(?:java\.net\.)?ConnectException|Communications link failure|SocketException \(111\)|"
          r"connect: connection reset|No connection could be made",
          ("refused", "econnrefused", "errno 111", "connectexception", "communications link",
           "socketexception (111)", "connection reset", "no connection could"),
          extract="host"),
    # EADDRNOTAVAIL on a connect (.NET's ``SocketException (99): Cannot assign requested
    # address`` under ``Connection failed``, Go's ``dial tcp [::1]:5432: connect: cannot
    # assign requested address``): no local address or port to reach the peer from. On a
    # bind or listen it is the process's own address that is wrong: not a dependency.
    _rule("connect-address-not-available", Reason.DEPENDENCY_UNREACHABLE,
          r"cannot assign requested address|\bEADDRNOTAVAIL\b|SocketException \(99\)|"
          r"Errno 99\b",
          ("assign requested address", "eaddrnotavail", "(99)", "errno 99"),
          extract="host",
          veto=r"\bbind|listen|BindException|server socket|(?:start|serve|run)\w* (?:the )?"
               r"(?:\w+ )?server on",
          frame_veto=r"\.bind\(|\blisten\(|\.listen\(|\bbind\("),
    _rule(NAME_RESOLUTION, Reason.DEPENDENCY_UNREACHABLE,
          r"no such host|name or service not known|\bENOTFOUND\b|\bEAI_AGAIN\b|"
          r"temporary failure in name resolution|could not translate host name|"
          r"could not resolve host|UnknownHostException|unknown host|host not found|"
          r"nodename nor servname|No address associated with hostname|Name does not resolve|"
          r"server misbehaving|NXDOMAIN|getaddrinfo failed|failed to lookup address|"
          r"Name resolution failed|SocketException \(00000005|DNS resolution failed|"
          r"No such host is known|no resolvable bootstrap urls|"
          # busybox's nc, wget and nslookup (an init container's wait loop): ``nc: bad
          # address 'superset-postgresql'``, ``nslookup: can't resolve 'myservice'``
          r"\b(?:nc|nslookup|wget|ping|telnet): (?:bad address|can't resolve) ['\"]|"
          # Redis Sentinel: ``Can't resolve master instance hostname.``
          r"(?:can't|cannot|could not|couldn't|unable to|failed to) resolve (?:the )?"
          r"(?:[\w-]+ ){0,3}?(?:host ?name|host)\b|"
          # Cassandra's seed provider: ``Seed provider couldn't lookup host cassandra-0...``
          r"(?:can't|cannot|could not|couldn't|unable to|failed to) look ?up (?:the )?"
          r"(?:host ?name|host|address)\b|"
          # Varnish's VCL compiler: ``Backend host '"drupal-wxt-varnish-drupal"' could not be
          # resolved to an IP address:``
          r"\bhost ['\"`]+[A-Za-z0-9][\w.-]*['\"`]+ (?:could not|cannot|can't|couldn't) be "
          r"resolved\b",
          ("host", "name", "enotfound", "eai_again", "nxdomain", "getaddrinfo", "lookup", "dns",
           "resolv", "bad address"),
          extract="host"),
    _rule("connect-timeout", Reason.DEPENDENCY_UNREACHABLE,
          r"connect(?:ion)? timed out|\bETIMEDOUT\b|(?:dial|connect|connecting)[^\n]{0,200}"
          r"(?:i/o timeout|timed out|timeout)|connect timeout|ConnectTimeout|"
          r"SocketTimeoutException: connect|timed out (?:while )?connecting|no route to host|"
          r"\bEHOSTUNREACH\b|network is unreachable|\bENETUNREACH\b|NoRouteToHostException|"
          # Confluent's start-up check: ``Timed out waiting for connection to Zookeeper server
          # [bldr-cp-zookeeper-headless:2181].``, Kafka's own ``ZooKeeperClientTimeoutException:
          # Timed out waiting for connection while in state: CONNECTING``; not a pool's wait
          # for a connection ``to be returned`` or ``to become available`` (none was free)
          r"timed out waiting for (?:a |the )?connection (?:with\b|while in state\b|"
          r"to (?:[^b\s]|b[^e]|be[^\sc]|bec[^o]))|"
          r"Failed to establish a new connection|server selection timeout|"
          r"(?:could not|couldn't|unable to|cannot|can't|failed to) (?:connect|establish a "
          r"connection) to|"
          # JDBC and ADO.NET: ``PSQLException: The connection attempt failed.``, ``Unable to
          # obtain connection from database``, SQLSTATE 08001/08006 (connection exceptions)
          r"connection attempt failed|unable to (?:obtain|acquire|get) (?:a )?(?:JDBC )?"
          r"connection from (?:the )?(?:database|data ?source)|"
          # Hibernate/Quarkus (Keycloak): ``Failed to obtain JDBC connection`` then Agroal's
          # ``Acquisition timeout while waiting for new connection``
          r"failed to obtain (?:a )?JDBC connection|"
          r"acquisition timeout while waiting for (?:a )?new connection|"
          r"SQL ?State\s*[:=]?\s*\[?080(?:01|06)\b|"
          # gRPC (grpc-js's waitForReady): ``Error: Failed to connect before the deadline``
          r"failed to connect before the deadline|"
          # SqlClient: ``A network-related or instance-specific error occurred while
          # establishing a connection to SQL Server. The server was not found or was not
          # accessible.``
          r"error occurred while establishing a connection to SQL Server|"
          # Prisma: ``Error: P1001`` / ``Can't reach database server at `db:5432```
          r"can(?:'t|not) reach database server|"
          # Rust's hyper (reqwest): ``error trying to connect: dns error: ...``, ``... tcp
          # connect error: ...``
          r"error trying to connect: (?:dns error|tcp connect error)",
          ("timed out", "timeout", "etimedout", "unreachable", "no route", "connect", "08001",
           "08006", "reach database"),
          extract="host",
          veto=r"authentication|access denied|password|unauthori[sz]ed|forbidden|"
               r"certificate|x509|handshake|\bpkix\b|ssl error|does not exist|no such database|"
               r"unknown database|already in use|connection in use|0\.0\.0\.0|\[::\]|pg_hba|"
               r"too many clients|connection slots|too many connections|"
               # a port the configuration left empty: Node's ``RangeError
               # [ERR_SOCKET_BAD_PORT]: Port should be >= 0 and < 65536. Received NaN.``
               r"ERR_SOCKET_BAD_PORT|port should be >= 0|invalid port|port out of range"),
    # Go's HTTP client timing out on an error line (a warning's telemetry post that timed
    # out is not why a process exited): ``Get "https://10.100.0.1:443/api/...": context
    # deadline exceeded``
    _rule("http-request-timeout", Reason.DEPENDENCY_UNREACHABLE,
          r"\b(?:Get|Post|Put|Patch|Delete|Head) \"?https?://[^\s\"]+\"?: (?:context deadline "
          r"exceeded|net/http: request canceled|net/http: TLS handshake timeout)",
          ("deadline exceeded", "request canceled", "handshake timeout"), extract="host",
          errors_only=True),
    # The AWS SDK for Go v2 naming the service whose call timed out or could not connect:
    # ``operation error ec2imds: GetMetadata, canceled, context deadline exceeded``; the
    # service is what was unreachable (no host is printed).
    _rule("aws-operation-unreachable", Reason.DEPENDENCY_UNREACHABLE,
          rf"{_AWS_OPERATION}[^\n]{{0,300}}?"
          r"(?:context deadline exceeded|i/o timeout|connection refused|no such host|"
          r"connect: no route to host|request canceled)",
          ("operation error",), extract="host", errors_only=True),
    # Every backend the client knows of is down or unreachable: ``health check timeout: no
    # Elasticsearch node available`` (olivere/elastic), ``no reachable servers`` (mgo),
    # Kafka's ``NoBrokersAvailable``, elasticsearch-js's ``No Living connections``,
    # Cassandra's ``NoHostAvailableException``, Elasticsearch's ``NoNodeAvailableException``.
    _rule("no-backend-available", Reason.DEPENDENCY_UNREACHABLE,
          r"\bno (?:reachable|available|alive|living|healthy|usable) (?:[\w-]+ ){0,2}?"
          r"(?:servers?|nodes?|brokers?|hosts?|endpoints?|replicas?|members?|peers?)\b|"
          r"\bno living connections\b|"
          # gRPC-Go's balancers with no address to pick: ``rpc error: code = Unavailable desc
          # = no children to pick from`` (a SPIRE agent with no server to attest to)
          r"code = Unavailable desc = (?:no children to pick from|name resolver error: "
          r"produced zero addresses|last resolver error: produced zero addresses)|"
          r"\bno (?:[\w-]+ ){0,2}?(?:servers?|nodes?|brokers?|hosts?|"
          r"endpoints?|replicas?|members?) (?:is |are |were )?(?:available|reachable|alive|up)\b|"
          r"NoBrokersAvailable|NoNodeAvailableException|NoHostAvailableException",
          ("no ", "nobrokers", "nonodeavailable", "nohostavailable", "zero addresses"),
          extract="host", errors_only=True,
          veto=r"schedul|\d+/\d+ nodes|matching|selector|taint|affinity|config|expected|"
               + _CARRIES_ON),
    # A directory said not to be writable (Logstash's ``Path "/usr/share/logstash/data" must
    # be a writable directory. It is not writable.``): denied, unless the container's root
    # filesystem is read-only and the path is on no writable volume (logcause decides).
    _rule("not-writable", Reason.PERMISSION_DENIED,
          r"\bnot writ(?:e)?able\b|\bmust be (?:a )?writ(?:e)?able\b|\bisn't writ(?:e)?able\b|"
          r"\bnon-writ(?:e)?able\b|"
          # Jenkins remoting: ``The specified working directory should be fully accessible to
          # the remoting executable (RWX): /home/jenkins/agent``
          r"\b(?:should|must) be fully accessible to\b",
          ("writable", "writeable", "fully accessible"), extract="path", errors_only=True,
          # a guess among others (Elasticsearch's ``failed to obtain node locks, tried [...]:
          # maybe these locations are not writable or multiple nodes were started on the same
          # data path?``) says no denial happened; advice after the fact (``... is not
          # writable. Maybe you need to chmod 777``) takes nothing back
          veto=_CARRIES_ON + r"|\bmount|\b(?:maybe|perhaps|possibly)\b[^.;!?]*\bnot writ",
          read_only_explains=True),
    # .NET's runtime, which writes its diagnostic pipes to /tmp first, failing to start with
    # E_FAIL: ``Failed to create CoreCLR, HRESULT: 0x80004005``
    # (https://github.com/dotnet/coreclr/issues/15243); other causes give the same words, so
    # it counts only under a read-only root with no writable temporary directory (/tmp, or
    # where TMPDIR points), and not where the diagnostics are off (no pipes are written).
    _rule("coreclr-temp-dir", Reason.READ_ONLY_FILESYSTEM,
          r"Failed to (?:create|initialize) CoreCLR, HRESULT: 0x80004005",
          ("coreclr",), extract="path", default="/tmp", only_read_only=True,
          unless_env=(("DOTNET_EnableDiagnostics", "0"), ("COMPlus_EnableDiagnostics", "0"))),
    # Last: a write that failed without saying why counts only where the container's root
    # filesystem is read-only and the path is on no writable volume (logcause checks).
    _rule(WRITE_FAILED, Reason.READ_ONLY_FILESYSTEM,
          r"(?:unable|cannot|can't|could not|couldn't|failed|failure) to (?:create|write|open|make|"
          r"mkdir|rename|delete|remove|save|persist|copy|chmod|lock|extract|unpack|install)\b|"
          r"(?:^|\s)(?:mkdir|touch|cp|mv|sed|tee|ln|install|tar|unzip): (?:cannot|can't|couldn't)",
          ("unable to", "cannot", "can't", "could not", "couldn't", "failed to", "failure to"),
          extract="path", only_read_only=True),
)

_PATH = rx.compile(r"(?:^|[\s'\"`(=:\[])(?P<path>/[\w.@%+~-][^\s:'\"`),;\]]*)")
_URL_HOST = rx.compile(
    r"\b[a-z][a-z0-9+.-]*://(?:[^/\s:@]+(?::[^/\s@]*)?@)?(?P<host>\[[0-9a-fA-F:]+\]|[\w.-]+)"
    r"(?::(?P<port>\d{1,5}))?"
)
_NAMED_HOST = rx.compile(
    r"host not found in upstream \"(?P<host4>[^\":]+)(?::(?P<port4>\d+))?\"|"
    r"\bhost ['\"`]+(?P<host5>[A-Za-z0-9][\w.-]*)['\"`]+ (?:could not|cannot|can't|couldn't) "
    r"be resolved\b|"
    r"(?:look ?up(?: the)?(?: host(?: ?name)?| address)?|ENOTFOUND|EAI_AGAIN|UnknownHostException:|"
    r"could not translate host name|"
    r"Could not resolve host:?|unknown host:?|host not found:?|resolve host|"
    r"Name or service not known:?|getaddrinfo \w+|"
    r"\b(?:nc|nslookup|wget|ping|telnet): (?:bad address|can't resolve))\s+[\"'`]?"
    r"(?P<host>[A-Za-z0-9][\w.-]*)"
    r"|host[= ]['\"]?(?P<host2>[A-Za-z0-9][\w.-]*)['\"]?,? port[= ](?P<port2>\d{1,5})"
    r"|[\"']?(?P<host3>[A-Za-z0-9][\w.-]*)[\"']?\s+\(?[\d.:a-f]*\)?,? port (?P<port3>\d{1,5})"
)
_HOST_PORT = rx.compile(
    r"(?:^|[\s'\"`(/@=\[,])(?P<host>(?:\d{1,3}\.){3}\d{1,3}|\[[0-9a-fA-F:]+\]|"
    r"[A-Za-z][\w-]*(?:\.[\w-]+)*):(?P<port>\d{2,5})\b"
)
_BIND = rx.compile(r"(?i)(?:listen|bind)\w*[^\n]{0,80}?(?:[\w.\]\[]*):(?P<port>\d{1,5})\b|"
                   r"(?i)port (?P<port2>\d{1,5})[^\n]{0,40}permission denied|"
                   r"(?i)(?:listen|bind)\w*[^\n]{0,40}?\bport (?P<port3>\d{1,5})\b")


#: HAProxy's ``Binding [/etc/haproxy/haproxy.cfg:58] for frontend http: cannot bind socket
#: (Permission denied) for [:::80]``: the address at the end, not the configuration's line.
_BIND_SOCKET_FOR = rx.compile(
    r"(?i)cannot bind socket[^\n]{0,80}? for \[[^\]\s]*:(?P<port>\d{1,5})\]")
#: A line about a failed bind (``cannot bind socket``, ``bind() to 0.0.0.0:80 failed``,
#: ``could not bind to address``): the port is what was denied, not a path it names.
BIND_FAILED = rx.compile(r"(?i)\b(?:cannot|can't|could not|couldn't|unable to|failed to) bind\b|"
                         r"\bbind\(\) to\b")


#: A configuration file's line in brackets (HAProxy's ``Binding [/etc/haproxy/haproxy.cfg:58]
#: for ...``): its number is no port.
_CONFIG_LINE = rx.compile(r"\[[^\]\s]*/[^\]\s]*:\d+\]")
#: A failed bind of a unix socket (HAProxy's ``cannot bind UNIX socket (Permission denied)
#: [/var/run/haproxy.stat]``, nginx's ``bind() to unix:/var/run/x.sock failed``, PostgreSQL's
#: ``could not bind Unix address "/var/run/postgresql/.s.PGSQL.5432"``): the path is what
#: was denied.
UNIX_BIND = rx.compile(r"(?i)\bunix\b")


def bound_port(text: str) -> str | None:
    """The port a line says the process listens on or binds (``listen tcp :80``,
    ``Opening ipv4 listen socket on port 443.``)."""
    m = _BIND_SOCKET_FOR.search(text) or _BIND.search(_CONFIG_LINE.sub("[]", text))
    return _first_group(m, "port") if m is not None else None
_NOT_HOSTS = frozenset({"http", "https", "tcp", "udp", "error", "line", "port", "at", "file",
                        "name", "of", "address", "information",
                        "dial", "connect", "read", "write", "time", "localhost.localdomain",
                        "in", "on", "for", "to", "from", "the", "with", "by", "0.0.0.0"})


#: The extensions of source files: ``leaderelection.go:320`` and ``main.py:12`` name a file
#: and its line, no host and port.
_SOURCE_FILE = rx.compile(
    r"\.(?:go|java|js|mjs|cjs|ts|rb|c|cpp|h|hpp|cs|php|scala|kt|ex|exs|erl|lua)$")
#: Source extensions that are also country domains (Paraguay, Poland, Serbia, Saint Helena,
#: the Cocos Islands): a file only in a name with one dot (``main.py``), a host in a name
#: with more (``db.example.pl:5432``).
_SOURCE_OR_COUNTRY = rx.compile(r"^[^.]*\.(?:py|pl|rs|sh|cc)$")
_COUNTRY_SOURCE = rx.compile(r"\.(?:py|pl|rs|sh|cc)$")


def source_file(name: str, ends_path: bool = False) -> bool:
    """Whether ``name`` is a source file's (``main.go``, ``app.py``), never a host's: one
    list for every place that must tell a file from a host. A name that ends a path
    (``/app/gunicorn.conf.py``: ``ends_path``) is a file whatever its dots."""
    return _SOURCE_FILE.search(name) is not None or _SOURCE_OR_COUNTRY.search(name) is not None \
        or (ends_path and _COUNTRY_SOURCE.search(name) is not None)


def _ends_path(text: str, start: int) -> bool:
    """Whether the name at ``text[start:]`` follows a path's slash (``/app/x``), not a
    URL's (``http://x``)."""
    return start >= 2 and text[start - 1] == "/" and text[start - 2] not in "/:"


def host_and_port(text: str) -> dict[str, str]:
    """The host (and port) a line names: a URL, ``host:port``, ``lookup X``, ``host=X``."""
    for m in _NAMED_HOST.finditer(text):
        if m["host4"]:
            return {"host": m["host4"], **({"port": m["port4"]} if m["port4"] else {})}
        if m["host5"]:
            return {"host": m["host5"]}
        if m["host"]:
            host = m["host"].rstrip(".")
            if host.lower() not in _NOT_HOSTS:
                return {"host": host}
        if m["host2"]:
            return {"host": m["host2"], "port": m["port2"]}
        if m["host3"] and m["host3"].lower() not in _NOT_HOSTS:
            return {"host": m["host3"], "port": m["port3"]}
    for m in _HOST_PORT.finditer(text):
        host = m["host"]
        if host.lower() in _NOT_HOSTS or (host[:1].isdigit() and host.count(".") != 3) \
                or source_file(host, _ends_path(text, m.end() - len(m["port"]) - 1 - len(host))):
            continue
        return {"host": host, "port": m["port"]}
    for m in _URL_HOST.finditer(text):
        found = {"host": m["host"]}
        if m["port"]:
            found["port"] = m["port"]
        return found
    return {}


def path_near(text: str, start: int, end: int) -> str | None:
    """The path named closest to ``text[start:end]`` (the errno phrase), either side."""
    best: tuple[int, str] | None = None
    for m in _PATH.finditer(text):
        p_start, p_end = rx.span(m, "path")
        if p_start >= start and p_end <= end:
            continue
        distance = start - p_end if p_end <= start else p_start - end
        path = m["path"].rstrip(".")
        if len(path) < 2 or path.startswith("//"):
            continue
        if best is None or distance < best[0]:
            best = (max(0, distance), path)
    return best[1] if best else None


def _first_group(match: rx.Match, base: str) -> str | None:
    """The first of ``base``, ``base2``, ``base3`` that matched (alternative spellings)."""
    for name in (base, *(f"{base}{k}" for k in range(2, 16))):
        try:
            value = match.group(name)
        except (IndexError, KeyError):
            continue
        if value:
            return str(value)
    return None


@dataclass(frozen=True, slots=True)
class GenericMatch:
    rule: Rule
    groups: dict[str, str]


def match_line(text: str, allowed: Callable[[Rule], bool] | None = None) -> GenericMatch | None:
    """The first rule (in priority order) that a line shows, with what it names."""
    lower = text.lower()
    for rule in RULES:
        if not any(h in lower for h in rule.hints):
            continue
        if allowed is not None and not allowed(rule):
            continue
        found = _match_rule(rule, text)
        if found is not None:
            return found
    return None


def _match_rule(rule: Rule, text: str) -> GenericMatch | None:
    for m in rule.pattern.finditer(text):
        if rule.veto is not None and rule.veto.search(text) is not None and (
                rule.spare is None or rule.spare.search(text) is None):
            return None
        groups: dict[str, str] = {}
        if rule.extract == "variable":
            variable = _first_group(m, "variable") or rule.default
            stop = QUOTED_STOP if rule.id == "generic-missing-setting-quoted" else NOT_A_VARIABLE
            if not variable or variable.upper() in stop:
                continue
            groups["variable"] = variable
        elif rule.extract == "path":
            named = path_near(text, m.start(), m.end()) or rule.default
            # a denial naming no path may be of a port; a failed bind's port wins over the
            # path it names (where it is configured), unless it binds a unix socket (the
            # path is what was denied)
            port = (bound_port(text) if rule.reason is Reason.PERMISSION_DENIED and (
                not named or (BIND_FAILED.search(text) is not None
                              and UNIX_BIND.search(text) is None)) else None)
            if port is not None:
                groups["port"] = port
            elif named:
                groups["path"] = named
        elif rule.extract == "host":
            groups.update(host_and_port(text))
            service = _first_group(m, "service")
            if "host" not in groups and service:
                # the innermost operation is the call that timed out: an outer one only
                # waited for it
                inner = [o["service"] for o in _AWS_OPERATION_RX.finditer(m.group(0))]
                groups["host"] = (inner[-1] if inner else service).strip()
        elif rule.extract == "command":
            command = _first_group(m, "command")
            if command:
                groups["command"] = command
            else:
                path = path_near(text, m.start(), m.end())
                if path:
                    groups["command"] = path
        return GenericMatch(rule, groups)
    return None


def go_nil_panic_near(lines: Sequence[LogLine], i: int) -> bool:
    """A Go nil-pointer panic prints ``[signal SIGSEGV ...]`` under it: that is a panic in
    Go code (an application error), not a segmentation fault of native code."""
    for j in range(max(0, i - 3), i + 1):
        text = lines[j].text
        if "nil pointer dereference" in text or text.startswith("panic: runtime error"):
            return True
    return False
