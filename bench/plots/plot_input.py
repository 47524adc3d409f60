"""Input checks shared by the plot scripts. Nothing here imports matplotlib or numpy: a script loads
and checks its whole input first, and only then imports the plotting libraries, so a wrong input is
reported the same way on a machine without them.

Every problem is an InputError whose text names the file (and the line, the record or the key);
`run` prints it as `error: <message>` on stderr and exits with status 2, before any output is written."""
import json
import sys

USAGE_STATUS = 2  # wrong arguments or a wrong input file
ENVIRONMENT_STATUS = 1  # a missing plotting library, an output that cannot be written


class InputError(Exception):
    """The input cannot be plotted; the message says why."""


def kind_of(value):
    """The JSON name of a value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def read_text(path):
    """The file's text; InputError if it is missing, unreadable, not text or empty."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a file") from None
    except UnicodeDecodeError as e:
        raise InputError(f"{path}: not a text file ({e.reason} at byte {e.start})") from None
    except OSError as e:
        raise InputError(f"{path}: cannot read it: {e.strerror}") from None
    if not text.strip():
        raise InputError(f"{path}: the file is empty")
    return text


def parse_document(path, text):
    """The file as one JSON document, or None when it is not one (JSON Lines, or invalid)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


def document_error(path, text):
    """The InputError for a file that should be one JSON document and is not valid JSON."""
    try:
        json.loads(text)
    except json.JSONDecodeError as e:
        return InputError(f"{path}: invalid JSON at line {e.lineno}, column {e.colno}: {e.msg}")
    return InputError(f"{path}: invalid JSON")


def first_line_parses(text):
    """True when the first non-blank line is a JSON value by itself (the file looks like JSON Lines)."""
    for line in text.splitlines():
        if line.strip():
            try:
                json.loads(line)
                return True
            except json.JSONDecodeError:
                return False
    return False


def parse_json_lines(path, text):
    """[(line number, value)] of a JSON Lines file. An invalid line is an InputError naming it, except
    an incomplete last line (no newline at the end: a writer interrupted mid-record), which is left out
    with a warning when complete records precede it."""
    lines = text.splitlines()
    out = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            out.append((number, json.loads(line)))
        except json.JSONDecodeError as e:
            if number == len(lines) and not text.endswith("\n") and out:
                warn(f"{path}, line {number}: incomplete last record (the run was interrupted?); "
                     f"plotting the lines before it ({len(out)} record{'s' if len(out) > 1 else ''})")
                break
            raise InputError(f"{path}, line {number}: invalid JSON ({e.msg} at column {e.colno})") from None
    return out


def require(obj, key, where, accepts, check=None, expected=None):
    """obj[key], InputError naming `where` and what the script accepts if it is missing or fails `check`."""
    if not isinstance(obj, dict):
        raise InputError(f"{where} is {kind_of(obj)}, not an object; {accepts}")
    if key not in obj:
        raise InputError(f'{where} has no "{key}" key; {accepts}')
    value = obj[key]
    if check is not None and not check(value):
        raise InputError(f'{where}: "{key}" is {kind_of(value)}, expected {expected}; {accepts}')
    return value


def nonempty_list(value):
    return isinstance(value, list) and len(value) > 0


def warn(message):
    sys.stderr.write(f"warning: {message}\n")


def fail(message, status=USAGE_STATUS):
    sys.stderr.write(f"error: {message}\n")
    sys.exit(status)


def import_plotting(*modules):
    """Imports matplotlib (with the Agg backend) and the named modules; exits with a clear message
    when one is missing. Returns pyplot followed by the named modules."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        extra = [__import__(m) for m in modules]
    except ImportError as e:
        fail(f"{e.name or 'a plotting library'} is needed to draw the plot (pip install matplotlib)",
             ENVIRONMENT_STATUS)
    return [plt, *extra]


def run(doc, argv, load, plot):
    """The scripts' main: `load(src)` reads and checks the input (raising InputError), then
    `plot(data, src, dst)` draws it."""
    if len(argv) == 2 and argv[1] in ("-h", "--help"):
        print(doc)
        return
    if len(argv) != 3:
        sys.stderr.write(f"error: expected 2 arguments (the input file and the output PNG), got {len(argv) - 1}\n"
                         f"usage:\n{doc}\n")
        sys.exit(USAGE_STATUS)
    src, dst = argv[1], argv[2]
    try:
        data = load(src)
    except InputError as e:
        fail(str(e))
    try:
        plot(data, src, dst)
    except OSError as e:
        fail(f"{dst}: cannot write the plot: {e.strerror or e}", ENVIRONMENT_STATUS)
