// src/protocol/RequestParser.cs: a request line becomes a typed request or one precise `ERROR: ...`, by the command
// table's rules (Protocol.cs): the command, its arguments' shape, the rules for a key, a value and an integer.
// The server parses spans of its input with it; the client parses each typed line with it before sending, so
// an invalid request is never sent. Protocol.cs includes it.

using System.Text;
using System.Text.Unicode;

namespace KV;

/// <summary>
/// A request line, parsed without copying: Key and Value point into the line (into a decoded copy when quoted).
/// Exactly one of three states:
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
    /// <summary>For `subscribe`/`unsubscribe`: the channels named, as the line has them (read by Channels).</summary>
    public ReadOnlySpan<byte> ChannelWords { get; init; }

    /// <summary>
    /// The channels named, each decoded, one at a time: no list of them is made, since a line may name a hundred
    /// thousand (refused by the clients' budget, such a list was garbage that full collections came for).
    /// </summary>
    public ChannelReader Channels => new(ChannelWords);
    /// <summary>For `incr`/`decr`: the AMOUNT given, or 1; SECONDS; `lrange`'s START.</summary>
    public long Amount { get; init; }
    /// <summary>For `lrange`: STOP.</summary>
    public long Stop { get; init; }
    public string? Error { get; init; }
}

/// <summary>
/// The channels of a request ParseChannels accepted, each decoded as it is reached (checked once, by the parser):
/// `foreach` over a copy, so it can be read more than once.
/// </summary>
public ref struct ChannelReader(ReadOnlySpan<byte> words)
{
    private ReadOnlySpan<byte> rest = words;

    public ReadOnlySpan<byte> Current { get; private set; }

    public bool MoveNext()
    {
        if (rest.IsEmpty) return false;
        RequestParser.ReadWord(rest, out var channel, out rest);
        Current = channel;
        if (!rest.IsEmpty) rest = rest[1..];
        return true;
    }

    public readonly ChannelReader GetEnumerator() => this;
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
        if (rest.IsEmpty) return Invalid(command.Arguments is ArgumentShape.KeyValue or ArgumentShape.KeySecondsValue
            or ArgumentShape.ChannelMessage or ArgumentShape.Secret
            ? Errors.WrongArguments(command) : Errors.ExtraSpace(command));
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

    /// <summary>
    /// `set KEY VALUE`: the value is everything after the space that ends the key, or one quoted string.
    /// </summary>
    private static ParsedRequest ParseKeyValue(CommandSpec command, ReadOnlySpan<byte> rest)
    {
        if (ReadKey(command, rest, out var key, out var afterKey) is { } keyError) return Invalid(keyError);
        if (afterKey.IsEmpty) return Invalid(Errors.WrongArguments(command));
        if (ReadValue(afterKey[1..], out var value) is { } valueError) return Invalid(valueError);
        return new ParsedRequest { Command = command, Key = key, Value = value };
    }

    /// <summary>`setex KEY SECONDS VALUE`: the key, the seconds, and the value as `set` takes it.</summary>
    private static ParsedRequest ParseKeySecondsValue(CommandSpec command, ReadOnlySpan<byte> rest)
    {
        if (ReadKey(command, rest, out var key, out var afterKey) is { } keyError) return Invalid(keyError);
        if (afterKey.IsEmpty) return Invalid(Errors.WrongArguments(command));
        afterKey = afterKey[1..];
        var secondsEnd = afterKey.IndexOf((byte)' ');
        if (secondsEnd <= 0) return Invalid(secondsEnd == 0
            ? Errors.ExtraSpace(command) : Errors.WrongArguments(command));
        if (!TryParseSeconds(afterKey[..secondsEnd], out var seconds))
            return Invalid(Errors.NotSeconds(command, afterKey[..secondsEnd]));
        if (ReadValue(afterKey[(secondsEnd + 1)..], out var value) is { } valueError) return Invalid(valueError);
        return new ParsedRequest { Command = command, Key = key, Value = value, Amount = seconds };
    }

    /// <summary>
    /// The key at the start of `rest`: a quoted one decoded, else the word up to the next space, by the rules for
    /// a key. `after` is what follows it: nothing, or a space and the rest.
    /// </summary>
    private static string? ReadKey(CommandSpec command, ReadOnlySpan<byte> rest, out ReadOnlySpan<byte> key,
        out ReadOnlySpan<byte> after)
    {
        key = after = default;
        if (rest.IsEmpty) return Errors.WrongArguments(command);
        if (rest[0] == ' ') return Errors.ExtraSpace(command);
        if (ReadWord(rest, out key, out after) is { } error) return error;
        if (rest[0] == '"') return KeyProblem(key);
        // `set k<TAB>v`: a tab where the space belongs is the likely mistake, and worth its own words.
        if (command.Arguments is ArgumentShape.KeyValue or ArgumentShape.ChannelMessage && key.Contains((byte)'\t'))
            return Errors.TabAfterKey(command);
        return KeyError(command, key);
    }

    /// <summary>
    /// The word at the start of `rest` (not empty), without the rules for a key: a quoted one decoded, else the bytes
    /// up to the next space. `after` is what follows it. An error only for a malformed quoted string.
    /// </summary>
    internal static string? ReadWord(ReadOnlySpan<byte> rest, out ReadOnlySpan<byte> word, out ReadOnlySpan<byte> after)
    {
        word = after = default;
        if (rest[0] == '"')
        {
            if (QuotedForm.TryRead(rest, out var used, out var error) is not { } decoded) return error;
            word = decoded;
            after = rest[used..];
            return null;
        }
        var end = rest.IndexOf((byte)' ');
        word = end < 0 ? rest : rest[..end];
        after = end < 0 ? default : rest[end..];
        return null;
    }

    /// <summary>A value: one quoted string, decoded, or the rest of the line as it is.</summary>
    private static string? ReadValue(ReadOnlySpan<byte> text, out ReadOnlySpan<byte> value)
    {
        value = text;
        if (!text.IsEmpty && text[0] == '"')
        {
            if (QuotedForm.TryRead(text, out var used, out var error) is not { } decoded) return error;
            if (used != text.Length) return Errors.Quoted("a quoted value must end the line");
            value = decoded;
            return null;
        }
        // The line's terminator is gone; a CR left in the value (`v\r\r\n`) is one a plain line could not carry back.
        return text.Contains((byte)'\r') ? Errors.ValueHasLineBreak : null;
    }

    private static bool TryParseSeconds(ReadOnlySpan<byte> word, out long seconds) =>
        TryParseInteger(word, out seconds) && seconds is >= 1 and <= Commands.MaxExpirySeconds;

    /// <summary>
    /// `subscribe a b c [--json]`: channel names one space apart, each a valid key (quoted where it must be), then
    /// a format flag where the command takes one (the client's, for how it prints each message).
    /// </summary>
    private static ParsedRequest ParseChannels(CommandSpec command, ReadOnlySpan<byte> rest)
    {
        var format = OutputFormat.Plain;
        var words = rest;
        var count = 0;
        while (!rest.IsEmpty)
        {
            var isFlag = rest.StartsWith("--"u8) && command.TakesFormat && rest.IndexOf((byte)' ') < 0;
            if (isFlag && ParseFlag(rest) is not { } flag) return Invalid(Errors.UnknownFlag(command, rest));
            if (isFlag)
            {
                if (count == 0) return Invalid(Errors.WrongArguments(command));
                format = ParseFlag(rest)!.Value;
                words = words[..(words.Length - rest.Length - 1)];
                break;
            }
            if (ReadKey(command, rest, out _, out rest) is { } error) return Invalid(error);
            count++;
            if (!rest.IsEmpty && (rest = rest[1..]).IsEmpty) return Invalid(Errors.ExtraSpace(command));
        }
        return new ParsedRequest { Command = command, ChannelWords = words, Format = format };
    }

    /// <summary>
    /// Every other command: at most a KEY (or a COMMAND for help) and a format flag, one space apart.
    /// </summary>
    private static ParsedRequest ParseWords(CommandSpec command, ReadOnlySpan<byte> rest)
    {
        ReadOnlySpan<byte> key = default;
        var hasKey = command.Arguments is ArgumentShape.Key or ArgumentShape.KeyAmount or ArgumentShape.KeySeconds
            or ArgumentShape.KeyTimeout or ArgumentShape.KeyRange;
        if (hasKey)
        {
            if (ReadKey(command, rest, out key, out rest) is { } error) return Invalid(error);
            if (!rest.IsEmpty && (rest = rest[1..]).IsEmpty) return Invalid(Errors.ExtraSpace(command));
        }

        // Up to two more words, so that a second one after the key (a third in all) is seen as one too many.
        Span<Range> words = stackalloc Range[2];
        var count = 0;
        for (var start = 0; count < words.Length && !rest.IsEmpty; count++)
        {
            var space = rest[start..].IndexOf((byte)' ');
            var end = space < 0 ? rest.Length : start + space;
            if (end == start) return Invalid(Errors.ExtraSpace(command));
            words[count] = start..end;
            if (space < 0) { count++; break; }
            start = end + 1;
        }
        if (count > (hasKey && command.Arguments != ArgumentShape.KeyRange ? 1 : 2))
            return Invalid(Errors.WrongArguments(command));

        var next = 0;
        CommandSpec? topic = null;
        if (command.Arguments == ArgumentShape.OptionalCommand && count > 0)
        {
            var wanted = rest[words[next++]];
            topic = Commands.Find(wanted);
            if (topic is null) return Invalid(Errors.UnknownCommand(wanted));
        }

        var format = OutputFormat.Plain;
        var amount = 1L;
        var stop = 0L;
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
        else if (command.Arguments == ArgumentShape.KeyTimeout)
        {
            if (next == count) return Invalid(Errors.WrongArguments(command));
            var word = rest[words[next++]];
            if (!TryParseInteger(word, out amount) || amount is < 0 or > Commands.MaxExpirySeconds)
                return Invalid(Errors.NotTimeout(command, word));
        }
        else if (command.Arguments == ArgumentShape.KeyRange)
        {
            if (count < 2) return Invalid(Errors.WrongArguments(command));
            var startWord = rest[words[next++]];
            var stopWord = rest[words[next++]];
            if (!TryParseInteger(startWord, out amount)) return Invalid(Errors.NotAnIndex(command, startWord));
            if (!TryParseInteger(stopWord, out stop)) return Invalid(Errors.NotAnIndex(command, stopWord));
        }
        else if (next < count)
        {
            var word = rest[words[next++]];
            if (!command.TakesFormat || !word.StartsWith("--"u8)) return Invalid(Errors.WrongArguments(command));
            if (ParseFlag(word) is not { } flag) return Invalid(Errors.UnknownFlag(command, word));
            format = flag;
        }
        if (next < count) return Invalid(Errors.WrongArguments(command));
        return new ParsedRequest
        {
            Command = command, Key = key, Format = format, Topic = topic, Amount = amount, Stop = stop,
        };
    }

    private static OutputFormat? ParseFlag(ReadOnlySpan<byte> word)
    {
        foreach (var flag in FormatFlag.All)
            if (Ascii.EqualsIgnoreCase(word, flag.FlagUtf8.Span)) return flag.Format;
        return null;
    }

    /// <summary>
    /// A key typed plainly: one word with no whitespace and no control character, and not a flag; then the rules
    /// for every key. Any other key is written quoted.
    /// </summary>
    private static string? KeyError(CommandSpec command, ReadOnlySpan<byte> key)
    {
        if (key.StartsWith("--"u8)) return Errors.FlagBeforeKey(command, key);
        if (!QuotedForm.IsPlainKey(key))
            return key.IsEmpty ? Errors.KeyEmpty : Errors.KeyHasWhitespace;
        return KeyProblem(key);
    }

    /// <summary>
    /// Why a key cannot be stored, or null: the one rule for every key, however it arrived (plain, quoted, RESP).
    /// A key is any bytes, 1 to MaxKeyCharacters characters, where a byte that is not part of valid UTF-8 counts
    /// as one.
    /// </summary>
    public static string? KeyProblem(ReadOnlySpan<byte> key)
    {
        if (key.IsEmpty) return Errors.KeyEmpty;
        if (key.Length <= Commands.MaxKeyCharacters) return null;
        var characters = 0;
        while (!key.IsEmpty)
        {
            Rune.DecodeFromUtf8(key, out _, out var consumed);
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

    private static ParsedRequest Invalid(string error) => new() { Error = error };
}
