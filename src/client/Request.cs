// src/client/Request.cs: a parsed request line that owns its text (strings, not spans of a buffer): what the client
// holds on to between reading a line and rendering its reply, and what the tests compare. The server never
// needs one; it parses spans of its buffer with RequestParser and answers at once.

using System.Text;

namespace KV;

/// <summary>
/// A parsed request that owns its text: what the client and the tests hold on to. Key and Value are text (a quoted
/// one decoded, any bytes that are not UTF-8 shown as U+FFFD); KeyBytes is the key exactly.
/// </summary>
public sealed record Request(CommandSpec Command, string? Key, string? Value, OutputFormat Format, CommandSpec? Topic,
    long Amount = 1)
{
    public byte[] KeyBytes { get; init; } = [];

    public static LineParse Parse(string line) => Parse(Encoding.UTF8.GetBytes(line));

    public static LineParse Parse(ReadOnlySpan<byte> line)
    {
        var parsed = RequestParser.Parse(line);
        if (parsed.Error is { } error) return new LineParse.Invalid(error);
        if (parsed.Command is not { } command) return new LineParse.Blank();
        return new LineParse.Valid(new Request(
            command,
            command.Arguments is ArgumentShape.Key or ArgumentShape.KeyValue or ArgumentShape.KeyAmount
                or ArgumentShape.KeySeconds
                or ArgumentShape.KeySecondsValue or ArgumentShape.ChannelMessage
                    ? Encoding.UTF8.GetString(parsed.Key) : null,
            command.Arguments is ArgumentShape.Channels or ArgumentShape.OptionalChannels ? Named(parsed.Channels)
                : command.Arguments is ArgumentShape.KeyValue or ArgumentShape.KeySecondsValue
                    or ArgumentShape.ChannelMessage or ArgumentShape.Secret
                    ? Encoding.UTF8.GetString(parsed.Value) : null,
            parsed.Format,
            parsed.Topic,
            parsed.Amount) { KeyBytes = parsed.Key.ToArray() });
    }

    /// <summary>The channels a `subscribe` or `unsubscribe` named, one space apart; null for none.</summary>
    private static string? Named(ChannelReader channels)
    {
        var names = new List<string>();
        foreach (var channel in channels) names.Add(Encoding.UTF8.GetString(channel));
        return names.Count == 0 ? null : string.Join(' ', names);
    }
}

/// <summary>What one line of input is: nothing, a mistake, or a request.</summary>
public abstract record LineParse
{
    public sealed record Blank : LineParse;
    public sealed record Invalid(string Error) : LineParse;
    public sealed record Valid(Request Request) : LineParse;
}
