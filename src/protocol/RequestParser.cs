// src/protocol/RequestParser.cs: a request line becomes a typed request or one precise `ERROR: ...`, by the command
// table's rules (Protocol.cs): the command, its arguments' shape, the rules for a key, a value and an integer.
// The server parses spans of its input with it; the client parses each typed line with it before sending, so
// an invalid request is never sent. Protocol.cs includes it.

using System.Text;
using System.Text.Unicode;

namespace KV;

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
        if (nameEnd < 0) return command.RequiresArgument
            ? Invalid(Errors.WrongArguments(command)) : new ParsedRequest { Command = command };

        var rest = line[(nameEnd + 1)..];
        return command.Arguments switch
        {
            ArgumentShape.KeyValue or ArgumentShape.ChannelMessage => ParseKeyValue(command, rest),
            ArgumentShape.KeySecondsValue => ParseKeySecondsValue(command, rest),
            ArgumentShape.Secret => rest.IsEmpty
                ? Invalid(Errors.WrongArguments(command)) : new ParsedRequest { Command = command, Value = rest },
            ArgumentShape.Channels or ArgumentShape.OptionalChannels => ParseChannels(command, rest),
            _ => ParseWords(command, rest),
        };
    }

    /// <summary>`set KEY VALUE`: the value is everything after the space that ends the key.</summary>
    private static ParsedRequest ParseKeyValue(CommandSpec command, ReadOnlySpan<byte> rest)
    {
        var keyEnd = rest.IndexOf((byte)' ');
        if (keyEnd == 0) return Invalid(Errors.ExtraSpace(command));
        // `set k<TAB>v`: a tab where the space belongs is the likely mistake, and worth its own words.
        if (rest[..(keyEnd < 0
            ? rest.Length : keyEnd)].Contains((byte)'\t')) return Invalid(Errors.TabAfterKey(command));
        if (keyEnd < 0) return Invalid(Errors.WrongArguments(command));
        var key = rest[..keyEnd];
        if (KeyError(command, key) is { } error) return Invalid(error);
        var value = rest[(keyEnd + 1)..];
        // The line's terminator is gone; a CR left in the value (`v\r\r\n`) is one the protocol could not carry back.
        if (value.Contains((byte)'\r')) return Invalid(Errors.ValueHasLineBreak);
        return new ParsedRequest { Command = command, Key = key, Value = value };
    }

    /// <summary>`setex KEY SECONDS VALUE`: the key, the seconds, and the value as `set` takes it.</summary>
    private static ParsedRequest ParseKeySecondsValue(CommandSpec command, ReadOnlySpan<byte> rest)
    {
        var keyEnd = rest.IndexOf((byte)' ');
        if (keyEnd <= 0) return Invalid(keyEnd == 0 ? Errors.ExtraSpace(command) : Errors.WrongArguments(command));
        if (KeyError(command, rest[..keyEnd]) is { } keyError) return Invalid(keyError);
        var afterKey = rest[(keyEnd + 1)..];
        var secondsEnd = afterKey.IndexOf((byte)' ');
        if (secondsEnd <= 0) return Invalid(secondsEnd == 0
            ? Errors.ExtraSpace(command) : Errors.WrongArguments(command));
        if (!TryParseSeconds(afterKey[..secondsEnd], out var seconds))
            return Invalid(Errors.NotSeconds(command, afterKey[..secondsEnd]));
        var value = afterKey[(secondsEnd + 1)..];
        if (value.Contains((byte)'\r')) return Invalid(Errors.ValueHasLineBreak);
        return new ParsedRequest { Command = command, Key = rest[..keyEnd], Value = value, Amount = seconds };
    }

    private static bool TryParseSeconds(ReadOnlySpan<byte> word, out long seconds) =>
        TryParseInteger(word, out seconds) && seconds is >= 1 and <= Commands.MaxExpirySeconds;

    /// <summary>
    /// `subscribe a b c [--json]`: channel names one space apart, each a valid key, then a format flag where the
    /// command takes one (the client's, for how it prints each message); Value is the list of channels.
    /// </summary>
    private static ParsedRequest ParseChannels(CommandSpec command, ReadOnlySpan<byte> rest)
    {
        var format = OutputFormat.Plain;
        var lastSpace = rest.LastIndexOf((byte)' ');
        if (command.TakesFormat && rest[(lastSpace + 1)..] is var last && last.StartsWith("--"u8))
        {
            if (ParseFlag(last) is not { } flag) return Invalid(Errors.UnknownFlag(command, last));
            if (lastSpace <= 0) return Invalid(Errors.WrongArguments(command));
            format = flag;
            rest = rest[..lastSpace];
        }
        foreach (var range in rest.Split((byte)' '))
        {
            var channel = rest[range];
            if (channel.IsEmpty) return Invalid(Errors.ExtraSpace(command));
            if (KeyError(command, channel) is { } error) return Invalid(error);
        }
        return new ParsedRequest { Command = command, Value = rest, Format = format };
    }

    /// <summary>
    /// Every other command: at most a KEY (or a COMMAND for help) and a format flag, one space apart.
    /// </summary>
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
        if (command.Arguments is ArgumentShape.Key or ArgumentShape.KeyAmount or ArgumentShape.KeySeconds)
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
        else if (command.Arguments == ArgumentShape.KeySeconds)
        {
            if (next == count) return Invalid(Errors.WrongArguments(command));
            var word = rest[words[next++]];
            if (!TryParseSeconds(word, out amount)) return Invalid(Errors.NotSeconds(command, word));
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
        if (digits.IsEmpty || digits.Length > 19 || digits.IndexOfAnyExceptInRange((byte)'0',
            (byte)'9') >= 0) return false;
        if (digits[0] == '0' && (digits.Length > 1 || digits.Length != text.Length)) return false;
        return long.TryParse(text, System.Globalization.NumberStyles.AllowLeadingSign,
            System.Globalization.CultureInfo.InvariantCulture, out value);
    }

    /// <summary>Why a value cannot be stored, or null: it must be a value KV's line protocol can carry back.</summary>
    public static string? ValueProblem(ReadOnlySpan<byte> value) =>
        !Utf8.IsValid(value) ? Errors.InvalidUtf8
        : value.IndexOfAny((byte)'\r', (byte)'\n') >= 0 ? Errors.ValueHasLineBreak
        : null;

    private static ParsedRequest Invalid(string error) => new() { Error = error };
}
