// src/resp/RespCounters.cs: INCR, INCRBY, DECR and DECRBY, with Redis's replies and error texts, over the store's
// one Increment (read, add, write back under its lock), the same that KV's `incr` and `decr` use; INCRBYFLOAT, read
// and written in one step of the store; and floats read and written as Redis reads and writes them.

using System.Buffers;
using System.Globalization;
using System.Text;

namespace KV;

public static class RespCounters
{
    private const string NotAnInteger = "value is not an integer or out of range";

    public static void Incr(RespSession session, RespArguments args, IBufferWriter<byte> output) =>
        Add(session, args[1], 1, output);

    public static void Decr(RespSession session, RespArguments args, IBufferWriter<byte> output) =>
        Add(session, args[1], -1, output);

    public static void IncrBy(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        if (RequestParser.TryParseInteger(args[2], out var by)) Add(session, args[1], by, output);
        else RespReply.Error(output, NotAnInteger);
    }

    public static void DecrBy(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        if (!RequestParser.TryParseInteger(args[2], out var by)) RespReply.Error(output, NotAnInteger);
        // The one amount that cannot be negated: Redis refuses it before it reads the key.
        else if (by == long.MinValue) RespReply.Error(output, "decrement would overflow");
        else Add(session, args[1], -by, output);
    }

    private static void Add(RespSession session, ReadOnlySpan<byte> key, long delta, IBufferWriter<byte> output)
    {
        if (RequestParser.KeyProblem(key) is { } problem)
        {
            RespReply.Error(output, problem);
            return;
        }
        switch (session.Store.Increment(key, delta, out var value))
        {
            case IncrementResult.Done: RespReply.Integer(output, value); break;
            case IncrementResult.NotAnInteger: RespReply.Error(output, NotAnInteger); break;
            case IncrementResult.Overflow: RespReply.Error(output, "increment or decrement would overflow"); break;
            default: RespReply.Error(output, RespCommands.OutOfMemory, prefix: "OOM"); break;
        }
    }

    /// <summary>INCRBYFLOAT key increment: the new value as text, read and written in one step; the deadline stays.
    /// </summary>
    public static void IncrByFloat(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        if (!TryDouble(args[2], out var delta))
        {
            RespReply.Error(output, "value is not a valid float");
            return;
        }
        if (double.IsInfinity(delta))
        {
            RespReply.Error(output, "increment would produce NaN or Infinity");
            return;
        }
        if (RequestParser.KeyProblem(args[1]) is { } problem)
        {
            RespReply.Error(output, problem);
            return;
        }
        var (error, text) = session.Store.Atomically((store: session.Store, key: args[1].ToArray(), delta),
            static step =>
            {
                var read = new System.Runtime.CompilerServices.StrongBox<(bool Number, double Value)>((true, 0));
                step.store.TryRead(step.key, read, static (value, box) =>
                    box.Value = (TryDouble(value, out var number), number));
                if (!read.Value.Number) return ("value is not a valid float", null);
                var result = read.Value.Value + step.delta;
                if (double.IsNaN(result) || double.IsInfinity(result))
                    return ("increment would produce NaN or Infinity", (byte[]?)null);
                var digits = Encoding.ASCII.GetBytes(FormatDecimal(result));
                if (step.store.Set(step.key, digits, SetCondition.Always, Expiry.KeepExisting)
                    == SetResult.OutOfMemory) return (RespCommands.OutOfMemory, null);
                step.store.Announce(KeyEventClass.String, "incrbyfloat", step.key);
                return ((string?)null, digits);
            });
        if (text is not null) RespReply.Bulk(output, text);
        else if (error == RespCommands.OutOfMemory) RespReply.Error(output, error, prefix: "OOM");
        else RespReply.Error(output, error!);
    }

    /// <summary>A float as Redis reads one (inf, -inf, +inf included; nan refused).</summary>
    public static bool TryDouble(ReadOnlySpan<byte> text, out double value)
    {
        value = 0;
        if (text.IsEmpty || text.Length > 400 || char.IsWhiteSpace((char)text[0])
            || char.IsWhiteSpace((char)text[^1])) return false;
        // Read straight from the bytes (no string made: a ZADD's scores are read on every request).
        var unsigned = text[0] is (byte)'+' or (byte)'-' ? text[1..] : text;
        if (Ascii.EqualsIgnoreCase(unsigned, "inf"u8) || Ascii.EqualsIgnoreCase(unsigned, "infinity"u8))
            value = text[0] == '-' ? double.NegativeInfinity : double.PositiveInfinity;
        else if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value)) return false;
        return !double.IsNaN(value);
    }

    /// <summary>A number as INCRBYFLOAT and HINCRBYFLOAT store it: plain digits, never an exponent.</summary>
    public static string FormatDecimal(double value)
    {
        var shortest = value.ToString("R", CultureInfo.InvariantCulture);
        if (!shortest.Contains('E')) return shortest;
        return Math.Abs(value) < 7.9e27 ? ((decimal)value).ToString(CultureInfo.InvariantCulture)
            : value.ToString("F0", CultureInfo.InvariantCulture);
    }

}
