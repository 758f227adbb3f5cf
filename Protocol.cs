// Protocol.cs: KV's wire protocol, the one part every program shares (server, client, tests, benchmark).
//
//   1. here, the command table (names, arguments, flags, usage, help, wire reply), with every error text beside it;
//   2. a request line becomes a typed request or one precise `ERROR: ...` (src/protocol/RequestParser.cs);
//   3. lines are framed (src/protocol/LineFraming.cs) and replies written (src/protocol/ReplyWriter.cs).
// The three files of src/protocol/ are included from here, so every program that includes the protocol has them;
// src/client/ReplyReader.cs reads replies back.
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

public enum CommandKind { Get, Set, Del, List, Incr, Decr, SetEx, Expire, Ttl, Persist, Publish, Subscribe, Unsubscribe,
    Ping, Stats, Monitor, Help, Exit, Auth, LPush, RPush, LPop, RPop, BLPop, BRPop, LLen, LRange, Type }

/// <summary>What may follow the command name on the line.</summary>
public enum ArgumentShape
{
    None,            // nothing (a format flag aside, where the command takes one)
    Key,             // one KEY
    KeyValue,        // one KEY, then everything after the next single space is the value, verbatim
    KeyAmount,       // one KEY, then optionally an AMOUNT: a 64-bit signed integer
    KeySeconds,      // one KEY, then SECONDS: a whole number from 1 to Commands.MaxExpirySeconds
    KeySecondsValue, // one KEY, then SECONDS, then the value: everything after the next single space, verbatim
    KeyTimeout,      // one KEY, then SECONDS to wait: a whole number from 0 (for ever) to Commands.MaxExpirySeconds
    KeyRange,        // one KEY, then START and STOP: two 64-bit signed integers (negative counts from the end)
    ChannelMessage,  // one CHANNEL, then the MESSAGE: everything after the next single space, verbatim (as KeyValue)
    Channels,        // one or more CHANNELs, one space apart, each following the rules for a key
    OptionalChannels,// none or more CHANNELs
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

    /// <summary>
    /// What follows the name, one word an argument: `KEY [--xml|--json|--yml]` (the client's hint shows it).
    /// </summary>
    public ImmutableArray<string> ArgumentWords { get; } =
    [
        .. Arguments switch
        {
            ArgumentShape.Key => ["KEY"],
            ArgumentShape.KeyValue => ["KEY", "VALUE"],
            ArgumentShape.KeyAmount => ["KEY", "[AMOUNT]"],
            ArgumentShape.KeySeconds => ["KEY", "SECONDS"],
            ArgumentShape.KeySecondsValue => ["KEY", "SECONDS", "VALUE"],
            ArgumentShape.KeyTimeout => ["KEY", "SECONDS"],
            ArgumentShape.KeyRange => ["KEY", "START", "STOP"],
            ArgumentShape.ChannelMessage => ["CHANNEL", "MESSAGE"],
            ArgumentShape.Channels => ["CHANNEL", "[CHANNEL...]"],
            ArgumentShape.OptionalChannels => ["[CHANNEL...]"],
            ArgumentShape.OptionalCommand => ["[COMMAND]"],
            ArgumentShape.Secret => ["PASSWORD"],
            _ => Array.Empty<string>(),
        },
        .. TakesFormat ? ["[" + string.Join('|', FormatFlag.All.Select(f => f.Flag)) + "]"] : Array.Empty<string>(),
    ];

    public string Usage => string.Join(' ', [Name, .. ArgumentWords]);

    public bool RequiresArgument
        => Arguments is not (ArgumentShape.None or ArgumentShape.OptionalCommand or ArgumentShape.OptionalChannels);

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
        new(CommandKind.SetEx, "setex", ArgumentShape.KeySecondsValue, TakesFormat: false,
            "store VALUE at KEY for SECONDS, then it is gone",
            "OK"),
        new(CommandKind.Expire, "expire", ArgumentShape.KeySeconds, TakesFormat: false,
            "make KEY go SECONDS from now",
            "OK, or ERROR: key '<key>' not found"),
        new(CommandKind.Ttl, "ttl", ArgumentShape.Key, TakesFormat: false,
            "show the seconds KEY has left",
            "TTL <seconds>, or TTL none, or ERROR: key '<key>' not found"),
        new(CommandKind.Persist, "persist", ArgumentShape.Key, TakesFormat: false,
            "keep KEY for good (remove its deadline)",
            "OK, or ERROR: key '<key>' not found"),
        new(CommandKind.Publish, "publish", ArgumentShape.ChannelMessage, TakesFormat: false,
            "send MESSAGE (the rest of the line) to CHANNEL's subscribers",
            "OK <subscribers reached>"),
        new(CommandKind.Subscribe, "subscribe", ArgumentShape.Channels, TakesFormat: true,
            "receive what is published on the channels, until Ctrl+C (each as XML, JSON or YAML)",
            "OK <channels subscribed>, then MESSAGE <channel> <message> lines as they are published"),
        new(CommandKind.Unsubscribe, "unsubscribe", ArgumentShape.OptionalChannels, TakesFormat: false,
            "stop receiving from the channels, or from all",
            "OK <channels still subscribed>"),
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
        new(CommandKind.LPush, "lpush", ArgumentShape.KeyValue, TakesFormat: false,
            "put VALUE at the head of the list at KEY (a missing KEY starts one)",
            "OK <the list's new length>"),
        new(CommandKind.RPush, "rpush", ArgumentShape.KeyValue, TakesFormat: false,
            "put VALUE at the tail of the list at KEY (a queue: rpush, then lpop)",
            "OK <the list's new length>"),
        new(CommandKind.LPop, "lpop", ArgumentShape.Key, TakesFormat: false,
            "take the value at the head of the list at KEY",
            "VALUE <value>, or ERROR: the list at '<key>' is empty"),
        new(CommandKind.RPop, "rpop", ArgumentShape.Key, TakesFormat: false,
            "take the value at the tail of the list at KEY",
            "VALUE <value>, or ERROR: the list at '<key>' is empty"),
        new(CommandKind.BLPop, "blpop", ArgumentShape.KeyTimeout, TakesFormat: false,
            "lpop, waiting up to SECONDS (0: for ever) for a value to arrive; Ctrl+C stops the wait",
            "VALUE <value>, or ERROR: nothing arrived at '<key>' within <n> seconds"),
        new(CommandKind.BRPop, "brpop", ArgumentShape.KeyTimeout, TakesFormat: false,
            "rpop, waiting up to SECONDS (0: for ever) for a value to arrive; Ctrl+C stops the wait",
            "VALUE <value>, or ERROR: nothing arrived at '<key>' within <n> seconds"),
        new(CommandKind.LLen, "llen", ArgumentShape.Key, TakesFormat: false,
            "show how many values the list at KEY holds (0 for a missing KEY)",
            "VALUE <n>"),
        new(CommandKind.LRange, "lrange", ArgumentShape.KeyRange, TakesFormat: false,
            "show the values of the list at KEY from START to STOP (0 is the head, -1 the tail)",
            "VALUES <n>, then n lines with one value each (quoted where a line cannot hold it plainly)"),
        new(CommandKind.Type, "type", ArgumentShape.Key, TakesFormat: false,
            "show what KEY holds: string, list, hash, set or zset",
            "VALUE <kind>, or ERROR: key '<key>' not found"),
    ];

    public static CommandSpec? Find(ReadOnlySpan<byte> name)
    {
        foreach (var command in All)
            if (Ascii.EqualsIgnoreCase(name, command.NameUtf8.Span)) return command;
        return null;
    }

    /// <summary>The same lookup for a word the client holds as text (completion, colour, history).</summary>
    public static CommandSpec? Find(string name) =>
        All.FirstOrDefault(c => c.Name.Equals(name, StringComparison.OrdinalIgnoreCase));

    /// <summary>The row of one command kind: `Commands.Of(CommandKind.Set).Usage`.</summary>
    public static CommandSpec Of(CommandKind kind) => All.First(c => c.Kind == kind);

    /// <summary>What `help` shows: every command, or the one asked about (`help get`).</summary>
    public static IReadOnlyList<CommandSpec> HelpFor(CommandSpec? topic) => topic is null ? All : [topic];

    /// <summary>The longest key, in characters (Unicode scalar values), as the spec says.</summary>
    public const int MaxKeyCharacters = 256;

    /// <summary>The longest time a key may be given: a hundred years, in seconds.</summary>
    public const long MaxExpirySeconds = 100L * 365 * 24 * 60 * 60;
}

/// <summary>
/// Every error text of the protocol, beside the table that causes them. Without the "ERROR: " prefix.
/// </summary>
public static class Errors
{
    public const int MaxEchoedCharacters = 40;
    public static string UnknownCommand(ReadOnlySpan<byte> name) => $"unknown command '{Echo(name)}' (type 'help')";
    public static string WrongArguments(CommandSpec command)
        => $"wrong arguments for '{command.Name}' (usage: {command.Usage})";
    public static string TabAfterKey(CommandSpec command)
        => $"a tab in the key: one space separates the key from the value (usage: {command.Usage})";
    public const string LeadingSpace = "the line starts with a space (write the command first; type 'help')";
    public static string ExtraSpace(CommandSpec command)
        => $"unexpected extra space (one space separates each argument; usage: {command.Usage})";
    public static string UnknownFlag(CommandSpec command, ReadOnlySpan<byte> flag) =>
        $"unknown flag '{Echo(flag)}' for '{command.Name}' (usage: {command.Usage})";
    public static string FlagBeforeKey(CommandSpec command, ReadOnlySpan<byte> flag) =>
        $"a KEY must come before '{Echo(flag)}', and a key that starts with '--' is written quoted (usage: " +
        $"{command.Usage})";
    public static string KeyTooLong => $"the key is longer than {Commands.MaxKeyCharacters} characters";
    public const string KeyHasWhitespace =
        "the key contains whitespace or a control character (write such a key quoted: \"my key\")";
    public const string KeyEmpty = "the key is empty";
    public const string ValueHasLineBreak = "the value contains a CR or LF: write such a value quoted (\"a\\r\\nb\")";
    public const string InvalidUtf8 = "the request is not valid UTF-8: write other bytes quoted (\"\\xff\")";
    public static string Quoted(string problem) => $"malformed quoted string: {problem} ({QuotedForm.Grammar})";
    public static string NotFound(ReadOnlySpan<byte> key) => $"key {Shown(key)} not found";
    public static string NotAnAmount(CommandSpec command, ReadOnlySpan<byte> word) =>
        $"the amount '{Echo(word)}' is not an integer from {long.MinValue} to {long.MaxValue} (usage: {command.Usage})";
    public static string NotSeconds(CommandSpec command, ReadOnlySpan<byte> word) =>
        $"the seconds '{Echo(word)}' are not a whole number from 1 to {Commands.MaxExpirySeconds} (usage: " +
            $"{command.Usage})";
    public static string NotTimeout(CommandSpec command, ReadOnlySpan<byte> word) =>
        $"the seconds '{Echo(word)}' are not a whole number from 0 (for ever) to {Commands.MaxExpirySeconds} (usage: " +
            $"{command.Usage})";
    public static string NotAnIndex(CommandSpec command, ReadOnlySpan<byte> word) =>
        $"'{Echo(word)}' is not an index: a whole number, negative from the tail (usage: {command.Usage})";
    public static string EmptyList(ReadOnlySpan<byte> key) => $"the list at {Shown(key)} is empty";
    public static string NothingArrived(ReadOnlySpan<byte> key, long seconds) =>
        $"nothing arrived at {Shown(key)} within {seconds} second{(seconds == 1 ? "" : "s")}";
    public static string WrongKind(CommandSpec command, ReadOnlySpan<byte> key, string held) =>
        $"key {Shown(key)} holds a {held}: `{command.Name}` does not work on it (`type KEY` names what a key holds)";
    public static string NotAnInteger(ReadOnlySpan<byte> key) => $"the value at {Shown(key)} is not an integer";
    public static string WouldOverflow(CommandKind kind)
        => $"{(kind == CommandKind.Decr ? "decrement" : "increment")} would overflow";
    public static string LineTooLong(int maxBytes) => $"request line longer than {maxBytes} bytes";
    public static string TooManyClients(int max) => $"too many clients (max {max})";
    public const string Subscribed = "a subscribed connection may send only subscribe, unsubscribe, ping and exit " +
        "(unsubscribe first)";
    public static string NotBuiltIn(CommandSpec command) =>
        $"'{command.Name}' is not served here: this server was built without the feature that answers it";
    public static string TooManyMonitors(int max)
        => $"too many monitors (max {max}): each one costs every request a copy";
    public static string RequestTimeout(TimeSpan limit) => $"request not finished within {limit.TotalSeconds} s";
    public static string OutOfMemory(long held,
        long max) => $"out of memory: the store holds {held} of its {max} bytes (delete keys or raise --max-memory)";
    public static string ListingTooLarge(long keys,
        long budget)
        => $"cannot list {keys} keys: they do not fit in what is left of the clients' memory budget of {budget} " +
        $"bytes (--max-client-memory)";
    public static string ClientMemory(long held) => $"client memory limit reached ({held} bytes held by all clients)";
    public const string AuthenticationRequired = "authentication required (auth PASSWORD)";
    public const string Busy = "busy: a script has run past its time limit; try again when it ends (or stop it with " +
        "SCRIPT KILL over RESP)";
    public const string WrongPassword = "wrong password";
    public const string NoPassword = "this server has no password (auth is not needed)";
    public const string TooManyAttempts = "too many password attempts from this address (wait a few seconds)";

    /// <summary>
    /// A key in an error: in single quotes when plain, else in the quoted form it is typed in (shortened either way).
    /// </summary>
    private static string Shown(ReadOnlySpan<byte> key) => QuotedForm.IsPlainKey(key) ? $"'{Echo(key)}'"
        : QuotedForm.Quote(key[..Math.Min(key.Length, MaxEchoedCharacters)]) + (key.Length > MaxEchoedCharacters
            ? "..." : "");

    /// <summary>
    /// A piece of the user's input, made safe to print: shortened and with control characters shown as '?'.
    /// </summary>
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
