// Protocol.cs: KV's wire protocol, the one part every program shares (server, client, tests, benchmark).
//
//   1. the command table (names, arguments, flags, usage, help, wire reply), with every error text beside it;
//   2. a request line becomes a typed request or one precise `ERROR: ...` (RequestParser);
//   3. lines are framed (src/protocol/LineFraming.cs) and replies written (src/protocol/ReplyWriter.cs), included
//      from here so that every program that includes the protocol has them; src/client/ReplyReader.cs reads replies.
// Nothing else lists the commands: the parser, `help`, the client and the tests all read the table.
//
// Every program includes this file, so the build properties they share live here: the JIT optimizer on (plain
// `dotnet X.cs` is Debug), no native AOT (file-based apps' default: it downloads AOT packs, forbids reflection).

#:property PublishAot=false
#:property Optimize=true
#:property InvariantGlobalization=true
#:include src/protocol/*.cs

using System.Buffers;
using System.Collections.Immutable;
using System.Text;
using System.Text.Unicode;

namespace KV;

// ----- 1. The command table -----------------------------------------------------------------

public enum CommandKind { Get, Set, Del, List, Incr, Decr, Ping, Stats, Monitor, Help, Exit, Auth }

/// <summary>What may follow the command name on the line.</summary>
public enum ArgumentShape
{
    None,            // nothing (a format flag aside, where the command takes one)
    Key,             // one KEY
    KeyValue,        // one KEY, then everything after the next single space is the value, verbatim
    KeyAmount,       // one KEY, then optionally an AMOUNT: a 64-bit signed integer
    OptionalCommand, // optionally the name of one command (for `help get`)
    Secret,          // everything after the single space that follows the name, verbatim (a password)
}

public enum OutputFormat { Plain, Xml, Json, Yaml }

/// <summary>One row of the command table.</summary>
/// <param name="Reply">The wire reply, documented here so the table is the protocol's reference.</param>
public sealed record CommandSpec(
    CommandKind Kind, string Name, ArgumentShape Arguments, bool TakesFormat, string Summary, string Reply)
{
    public ReadOnlyMemory<byte> NameUtf8 { get; } = Encoding.ASCII.GetBytes(Name);

    /// <summary>Served to a connection that has not given the server's password yet (the one list of them).</summary>
    public bool BeforeAuth { get; init; }

    /// <summary>What follows the name, one word an argument: `KEY [--xml|--json|--yml]` (the client's hint shows it).</summary>
    public ImmutableArray<string> ArgumentWords { get; } =
    [
        .. Arguments switch
        {
            ArgumentShape.Key => ["KEY"],
            ArgumentShape.KeyValue => ["KEY", "VALUE"],
            ArgumentShape.KeyAmount => ["KEY", "[AMOUNT]"],
            ArgumentShape.OptionalCommand => ["[COMMAND]"],
            ArgumentShape.Secret => ["PASSWORD"],
            _ => Array.Empty<string>(),
        },
        .. TakesFormat ? ["[" + string.Join('|', FormatFlag.All.Select(f => f.Flag)) + "]"] : Array.Empty<string>(),
    ];

    public string Usage => string.Join(' ', [Name, .. ArgumentWords]);

    public bool RequiresArgument => Arguments is ArgumentShape.Key or ArgumentShape.KeyValue or ArgumentShape.KeyAmount or ArgumentShape.Secret;

    public string HelpLine => $"{Usage,-30} {Summary}";
}

/// <summary>The flags that choose an output format, case-insensitive.</summary>
public sealed record FormatFlag(OutputFormat Format, string Flag)
{
    public static readonly ImmutableArray<FormatFlag> All =
    [
        new(OutputFormat.Xml, "--xml"),
        new(OutputFormat.Json, "--json"),
        new(OutputFormat.Yaml, "--yml"),
    ];

    public ReadOnlyMemory<byte> FlagUtf8 { get; } = Encoding.ASCII.GetBytes(Flag);
}

public static class Commands
{
    public static readonly ImmutableArray<CommandSpec> All =
    [
        new(CommandKind.Get, "get", ArgumentShape.Key, TakesFormat: true,
            "print the value stored at KEY (or as XML, JSON or YAML)",
            "VALUE <value>, or ERROR: key '<key>' not found"),
        new(CommandKind.Set, "set", ArgumentShape.KeyValue, TakesFormat: false,
            "store VALUE at KEY; VALUE is the rest of the line, verbatim",
            "OK"),
        new(CommandKind.Del, "del", ArgumentShape.Key, TakesFormat: false,
            "delete KEY and its value",
            "OK, or ERROR: key '<key>' not found"),
        new(CommandKind.List, "list", ArgumentShape.None, TakesFormat: true,
            "list every key, sorted (or as XML, JSON or YAML)",
            "KEYS <n>, then n lines with one key each"),
        new(CommandKind.Incr, "incr", ArgumentShape.KeyAmount, TakesFormat: false,
            "add AMOUNT (default 1) to the integer at KEY, in one step (a missing KEY is 0)",
            "VALUE <the new integer>, or ERROR: the value at '<key>' is not an integer"),
        new(CommandKind.Decr, "decr", ArgumentShape.KeyAmount, TakesFormat: false,
            "subtract AMOUNT (default 1) from the integer at KEY, in one step",
            "VALUE <the new integer>, or ERROR: the value at '<key>' is not an integer"),
        new(CommandKind.Ping, "ping", ArgumentShape.None, TakesFormat: false,
            "check that the server answers",
            "PONG") { BeforeAuth = true },
        new(CommandKind.Stats, "stats", ArgumentShape.None, TakesFormat: true,
            "show how the server is doing (or as XML, JSON or YAML)",
            "STATS <n>, then n lines 'name value'"),
        new(CommandKind.Monitor, "monitor", ArgumentShape.None, TakesFormat: false,
            "show every request of every client as it is served, until Ctrl+C",
            "OK, then a line a request: <time> [<client id> <address> <thread>] <request>"),
        new(CommandKind.Help, "help", ArgumentShape.OptionalCommand, TakesFormat: false,
            "show every command, or one command",
            "HELP <n>, then n lines with one command each") { BeforeAuth = true },
        new(CommandKind.Exit, "exit", ArgumentShape.None, TakesFormat: false,
            "close the connection (the client then ends)",
            "BYE, then the server closes the connection") { BeforeAuth = true },
        new(CommandKind.Auth, "auth", ArgumentShape.Secret, TakesFormat: false,
            "give the server's password (needed first when it has one)",
            "OK, or ERROR: wrong password") { BeforeAuth = true },
    ];

    public static CommandSpec? Find(ReadOnlySpan<byte> name)
    {
        foreach (var command in All)
            if (Ascii.EqualsIgnoreCase(name, command.NameUtf8.Span)) return command;
        return null;
    }

    /// <summary>The same lookup for a word the client holds as text (completion, colour, history).</summary>
    public static CommandSpec? Find(string name) => All.FirstOrDefault(c => c.Name.Equals(name, StringComparison.OrdinalIgnoreCase));

    /// <summary>The row of one command kind: `Commands.Of(CommandKind.Set).Usage`.</summary>
    public static CommandSpec Of(CommandKind kind) => All.First(c => c.Kind == kind);

    /// <summary>What `help` shows: every command, or the one asked about (`help get`).</summary>
    public static IReadOnlyList<CommandSpec> HelpFor(CommandSpec? topic) => topic is null ? All : [topic];

    /// <summary>The longest key, in characters (Unicode scalar values), as the spec says.</summary>
    public const int MaxKeyCharacters = 256;
}

/// <summary>Every error text of the protocol, beside the table that causes them. Without the "ERROR: " prefix.</summary>
public static class Errors
{
    public const int MaxEchoedCharacters = 40;
    public static string UnknownCommand(ReadOnlySpan<byte> name) => $"unknown command '{Echo(name)}' (type 'help')";
    public static string WrongArguments(CommandSpec command) => $"wrong arguments for '{command.Name}' (usage: {command.Usage})";
    public static string TabAfterKey(CommandSpec command) => $"a tab in the key: one space separates the key from the value (usage: {command.Usage})";
    public const string LeadingSpace = "the line starts with a space (write the command first; type 'help')";
    public static string ExtraSpace(CommandSpec command) => $"unexpected extra space (one space separates each argument; usage: {command.Usage})";
    public static string UnknownFlag(CommandSpec command, ReadOnlySpan<byte> flag) =>
        $"unknown flag '{Echo(flag)}' for '{command.Name}' (usage: {command.Usage})";
    public static string FlagBeforeKey(CommandSpec command, ReadOnlySpan<byte> flag) =>
        $"a KEY must come before '{Echo(flag)}', and keys cannot start with '--' (usage: {command.Usage})";
    public static string KeyTooLong => $"the key is longer than {Commands.MaxKeyCharacters} characters";
    public const string KeyHasWhitespace = "the key contains whitespace or a control character";
    public const string KeyEmpty = "the key is empty";
    public const string KeyStartsWithDashes = "a key cannot start with '--'";
    public const string ValueHasLineBreak = "the value contains a CR or LF, which KV's line protocol cannot carry";
    public const string InvalidUtf8 = "the request is not valid UTF-8";
    public static string NotFound(ReadOnlySpan<byte> key) => $"key '{Echo(key)}' not found";
    public static string NotAnAmount(CommandSpec command, ReadOnlySpan<byte> word) =>
        $"the amount '{Echo(word)}' is not an integer from {long.MinValue} to {long.MaxValue} (usage: {command.Usage})";
    public static string NotAnInteger(ReadOnlySpan<byte> key) => $"the value at '{Echo(key)}' is not an integer";
    public static string WouldOverflow(CommandKind kind) => $"{(kind == CommandKind.Decr ? "decrement" : "increment")} would overflow";
    public static string LineTooLong(int maxBytes) => $"request line longer than {maxBytes} bytes";
    public static string TooManyClients(int max) => $"too many clients (max {max})";
    public static string TooManyMonitors(int max) => $"too many monitors (max {max}): each one costs every request a copy";
    public static string RequestTimeout(TimeSpan limit) => $"request not finished within {limit.TotalSeconds} s";
    public static string OutOfMemory(long held, long max) => $"out of memory: the store holds {held} of its {max} bytes (delete keys or raise --max-memory)";
    public static string ListingTooLarge(long keys, long budget) => $"cannot list {keys} keys: they do not fit in what is left of the clients' memory budget of {budget} bytes (--max-client-memory)";
    public static string ClientMemory(long held) => $"client memory limit reached ({held} bytes held by all clients)";
    public const string AuthenticationRequired = "authentication required (auth PASSWORD)";
    public const string WrongPassword = "wrong password";
    public const string NoPassword = "this server has no password (auth is not needed)";
    public const string TooManyAttempts = "too many password attempts from this address (wait a few seconds)";

    /// <summary>A piece of the user's input, made safe to print: shortened and with control characters shown as '?'.</summary>
    public static string Echo(ReadOnlySpan<byte> utf8)
    {
        var text = Encoding.UTF8.GetString(utf8);
        var shown = text.Length > MaxEchoedCharacters ? text[..MaxEchoedCharacters] + "..." : text;
        return string.Create(shown.Length, shown, static (span, source) =>
        {
            for (var i = 0; i < source.Length; i++) span[i] = char.IsControl(source[i]) ? '?' : source[i];
        });
    }
}

// ----- 2. Parsing a request line ------------------------------------------------------------

/// <summary>
/// A request line, parsed without copying: Key and Value point into the line. Exactly one of three states:
/// blank (Command and Error both null), invalid (Error set), or valid (Command set).
/// </summary>
public readonly ref struct ParsedRequest
{
    public CommandSpec? Command { get; init; }
    public ReadOnlySpan<byte> Key { get; init; }
    public ReadOnlySpan<byte> Value { get; init; }
    public OutputFormat Format { get; init; }
    /// <summary>For `help COMMAND`: the command asked about.</summary>
    public CommandSpec? Topic { get; init; }
    /// <summary>For `incr`/`decr`: the AMOUNT given, or 1.</summary>
    public long Amount { get; init; }
    public string? Error { get; init; }
}

public static class RequestParser
{
    /// <summary>Parses one line, without its LF or CRLF.</summary>
    public static ParsedRequest Parse(ReadOnlySpan<byte> line)
    {
        if (line.IndexOfAnyExcept((byte)' ', (byte)'\t') < 0) return default;
        if (!Utf8.IsValid(line)) return Invalid(Errors.InvalidUtf8);

        var nameEnd = line.IndexOf((byte)' ');
        var name = nameEnd < 0 ? line : line[..nameEnd];
        if (name.IsEmpty) return Invalid(Errors.LeadingSpace);
        var command = Commands.Find(name);
        if (command is null) return Invalid(Errors.UnknownCommand(name));
        if (nameEnd < 0) return command.RequiresArgument ? Invalid(Errors.WrongArguments(command)) : new ParsedRequest { Command = command };

        var rest = line[(nameEnd + 1)..];
        return command.Arguments switch
        {
            ArgumentShape.KeyValue => ParseKeyValue(command, rest),
            ArgumentShape.Secret => rest.IsEmpty ? Invalid(Errors.WrongArguments(command)) : new ParsedRequest { Command = command, Value = rest },
            _ => ParseWords(command, rest),
        };
    }

    /// <summary>`set KEY VALUE`: the value is everything after the space that ends the key.</summary>
    private static ParsedRequest ParseKeyValue(CommandSpec command, ReadOnlySpan<byte> rest)
    {
        var keyEnd = rest.IndexOf((byte)' ');
        if (keyEnd == 0) return Invalid(Errors.ExtraSpace(command));
        // `set k<TAB>v`: a tab where the space belongs is the likely mistake, and worth its own words.
        if (rest[..(keyEnd < 0 ? rest.Length : keyEnd)].Contains((byte)'\t')) return Invalid(Errors.TabAfterKey(command));
        if (keyEnd < 0) return Invalid(Errors.WrongArguments(command));
        var key = rest[..keyEnd];
        if (KeyError(command, key) is { } error) return Invalid(error);
        var value = rest[(keyEnd + 1)..];
        // The line's terminator is gone; a CR left in the value (`v\r\r\n`) is one the protocol could not carry back.
        if (value.Contains((byte)'\r')) return Invalid(Errors.ValueHasLineBreak);
        return new ParsedRequest { Command = command, Key = key, Value = value };
    }

    /// <summary>Every other command: at most a KEY (or a COMMAND for help) and a format flag, one space apart.</summary>
    private static ParsedRequest ParseWords(CommandSpec command, ReadOnlySpan<byte> rest)
    {
        // Up to three words, so that a third one is seen as one too many.
        Span<Range> words = stackalloc Range[3];
        var count = 0;
        for (var start = 0; count < words.Length; count++)
        {
            var space = rest[start..].IndexOf((byte)' ');
            var end = space < 0 ? rest.Length : start + space;
            if (end == start) return Invalid(Errors.ExtraSpace(command));
            words[count] = start..end;
            if (space < 0) { count++; break; }
            start = end + 1;
        }
        if (count > 2) return Invalid(Errors.WrongArguments(command));

        var next = 0;
        ReadOnlySpan<byte> key = default;
        CommandSpec? topic = null;
        if (command.Arguments is ArgumentShape.Key or ArgumentShape.KeyAmount)
        {
            key = rest[words[next++]];
            if (KeyError(command, key) is { } error) return Invalid(error);
        }
        else if (command.Arguments == ArgumentShape.OptionalCommand)
        {
            var wanted = rest[words[next++]];
            topic = Commands.Find(wanted);
            if (topic is null) return Invalid(Errors.UnknownCommand(wanted));
        }

        var format = OutputFormat.Plain;
        var amount = 1L;
        if (command.Arguments == ArgumentShape.KeyAmount && next < count)
        {
            var word = rest[words[next++]];
            if (!TryParseInteger(word, out amount)) return Invalid(Errors.NotAnAmount(command, word));
        }
        else if (next < count)
        {
            var word = rest[words[next++]];
            if (!command.TakesFormat || !word.StartsWith("--"u8)) return Invalid(Errors.WrongArguments(command));
            if (ParseFlag(word) is not { } flag) return Invalid(Errors.UnknownFlag(command, word));
            format = flag;
        }
        if (next < count) return Invalid(Errors.WrongArguments(command));
        return new ParsedRequest { Command = command, Key = key, Format = format, Topic = topic, Amount = amount };
    }

    private static OutputFormat? ParseFlag(ReadOnlySpan<byte> word)
    {
        foreach (var flag in FormatFlag.All)
            if (Ascii.EqualsIgnoreCase(word, flag.FlagUtf8.Span)) return flag.Format;
        return null;
    }

    /// <summary>A key is 1 to 256 characters, with no whitespace and no control character, and not a flag.</summary>
    private static string? KeyError(CommandSpec command, ReadOnlySpan<byte> key) =>
        key.StartsWith("--"u8) ? Errors.FlagBeforeKey(command, key) : KeyProblem(key);

    /// <summary>
    /// Why a key cannot be stored, or null: the one rule for keys, also applied to keys that arrive over RESP.
    /// A key is 1 to MaxKeyCharacters characters of valid UTF-8, with no whitespace and no control character,
    /// and does not start with `--` (so a flag is never taken for a key).
    /// </summary>
    public static string? KeyProblem(ReadOnlySpan<byte> key)
    {
        if (key.IsEmpty) return Errors.KeyEmpty;
        if (key.StartsWith("--"u8)) return Errors.KeyStartsWithDashes;
        if (!Utf8.IsValid(key)) return Errors.InvalidUtf8;
        var characters = 0;
        while (!key.IsEmpty)
        {
            Rune.DecodeFromUtf8(key, out var rune, out var consumed);
            if (Rune.IsWhiteSpace(rune) || Rune.IsControl(rune)) return Errors.KeyHasWhitespace;
            if (++characters > Commands.MaxKeyCharacters) return Errors.KeyTooLong;
            key = key[consumed..];
        }
        return null;
    }

    /// <summary>
    /// An integer as Redis writes and reads one: an optional '-', then digits without a leading zero (or "0"),
    /// within 64 bits. One rule for an AMOUNT, a stored counter on either protocol, and INCRBY's argument, so
    /// that " 1", "+1", "01" and "1.0" are refused alike, as Redis refuses them.
    /// </summary>
    public static bool TryParseInteger(ReadOnlySpan<byte> text, out long value)
    {
        value = 0;
        var digits = text.StartsWith("-"u8) ? text[1..] : text;
        if (digits.IsEmpty || digits.Length > 19 || digits.IndexOfAnyExceptInRange((byte)'0', (byte)'9') >= 0) return false;
        if (digits[0] == '0' && (digits.Length > 1 || digits.Length != text.Length)) return false;
        return long.TryParse(text, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out value);
    }

    /// <summary>Why a value cannot be stored, or null: it must be a value KV's line protocol can carry back.</summary>
    public static string? ValueProblem(ReadOnlySpan<byte> value) =>
        !Utf8.IsValid(value) ? Errors.InvalidUtf8
        : value.IndexOfAny((byte)'\r', (byte)'\n') >= 0 ? Errors.ValueHasLineBreak
        : null;

    private static ParsedRequest Invalid(string error) => new() { Error = error };
}
