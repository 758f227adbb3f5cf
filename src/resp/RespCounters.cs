// src/resp/RespCounters.cs: INCR, INCRBY, DECR and DECRBY, with Redis's replies and error texts, over the store's
// one Increment (read, add, write back under its lock), the same that KV's `incr` and `decr` use.

using System.Buffers;

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
}
