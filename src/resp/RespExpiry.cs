// src/resp/RespExpiry.cs: Redis's commands for time: SET's EX, PX, EXAT, PXAT and KEEPTTL, SETEX, PSETEX, the
// EXPIRE family with NX, XX, GT and LT, TTL, PTTL, EXPIRETIME, PEXPIRETIME and PERSIST, with Redis's replies and
// error texts, over the store's deadlines (KeyValueStore.Expire, DeadlineOf, Persist), the same as KV's `setex`,
// `expire`, `ttl` and `persist`. Deadlines are milliseconds since 1970, read against the store's clock.

using System.Buffers;

namespace KV;

public static class RespExpiry
{
    private const string NotAnInteger = "value is not an integer or out of range";

    /// <summary>
    /// SET's option at `i`, if it is one of time's (EX s, PX ms, EXAT s, PXAT ms, KEEPTTL); `error` is Redis's refusal.
    /// </summary>
    public static bool TryReadSetOption(RespSession session, RespArguments args, ref int i, out Expiry expiry,
        out string? error)
    {
        expiry = default;
        error = null;
        if (args.Is(i, "keepttl"u8))
        {
            expiry = Expiry.KeepExisting;
            return true;
        }
        var unit = args.Is(i, "ex"u8) ? Unit.Seconds : args.Is(i, "px"u8) ? Unit.Milliseconds
            : args.Is(i, "exat"u8) ? Unit.UnixSeconds : args.Is(i, "pxat"u8) ? Unit.UnixMilliseconds : (Unit?)null;
        if (unit is null) return false;
        if (i + 1 >= args.Count)
        {
            error = "syntax error";
            return true;
        }
        error = Deadline(session.Store.Now, args[++i], unit.Value, "set", out var deadline);
        expiry = Expiry.At(deadline);
        return true;
    }

    public static void SetEx(RespSession session, RespArguments args,
        IBufferWriter<byte> output) => SetWithExpiry(session, args, Unit.Seconds, "setex", output);

    public static void PSetEx(RespSession session, RespArguments args,
        IBufferWriter<byte> output) => SetWithExpiry(session, args, Unit.Milliseconds, "psetex", output);

    private static void SetWithExpiry(RespSession session, RespArguments args, Unit unit, string command,
        IBufferWriter<byte> output)
    {
        var key = args[1];
        var value = args[3];
        if (Deadline(session.Store.Now, args[2], unit, command,
            out var deadline) is { } error || (error = RequestParser.KeyProblem(key)) is not null)
        {
            RespReply.Error(output, error);
            return;
        }
        if (session.Store.SetAnnounced(key, value, SetCondition.Always, Expiry.At(deadline), wantPrevious: false,
            out _) == SetResult.OutOfMemory)
        {
            RespReply.Error(output, RespCommands.OutOfMemory, prefix: "OOM");
            return;
        }
        RespReply.Ok(output);
    }

    /// <summary>
    /// EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT key time [NX|XX|GT|LT]: 1 when the deadline was set, 0 when not (no key, or
    /// the condition).
    /// </summary>
    public static void Expire(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        var name = args.Text(0).ToLowerInvariant();
        var unit = name switch { "expire" => Unit.Seconds, "pexpire" => Unit.Milliseconds,
            "expireat" => Unit.UnixSeconds, _ => Unit.UnixMilliseconds };
        bool nx = false, xx = false, gt = false, lt = false;
        for (var i = 3; i < args.Count; i++)
        {
            if (args.Is(i, "nx"u8)) nx = true;
            else if (args.Is(i, "xx"u8)) xx = true;
            else if (args.Is(i, "gt"u8)) gt = true;
            else if (args.Is(i, "lt"u8)) lt = true;
            else
            {
                RespReply.Error(output, $"Unsupported option {args.Text(i)}");
                return;
            }
        }
        // Redis's rules: NX alone; GT or LT, not both; XX may go with either (GT implies it: no deadline is never).
        if (nx && (xx || gt || lt))
        {
            RespReply.Error(output, "NX and XX, GT or LT options at the same time are not compatible");
            return;
        }
        if (gt && lt)
        {
            RespReply.Error(output, "GT and LT options at the same time are not compatible");
            return;
        }
        var condition = nx ? ExpireCondition.IfNone : gt ? ExpireCondition.IfLater
            : lt ? (xx ? ExpireCondition.IfSomeAndSooner : ExpireCondition.IfSooner) : xx
                ? ExpireCondition.IfSome : ExpireCondition.Always;
        if (Deadline(session.Store.Now, args[2], unit, name, out var deadline, allowPast: true) is { } error)
        {
            RespReply.Error(output, error);
            return;
        }
        RespReply.Integer(output, session.Store.Expire(args[1], deadline, condition) == true ? 1 : 0);
    }

    /// <summary>
    /// TTL and PTTL (time left), EXPIRETIME and PEXPIRETIME (the deadline): -2 without the key, -1 without a deadline.
    /// </summary>
    public static void TimeToLive(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        var store = session.Store;
        var (found, deadline) = store.DeadlineOf(args[1]);
        if (!found) RespReply.Integer(output, -2);
        else if (deadline is not { } at) RespReply.Integer(output, -1);
        else RespReply.Integer(output, args.Text(0).ToLowerInvariant() switch
        {
            "ttl" => (Math.Max(0, at - store.Now) + 500) / 1000,
            "pttl" => Math.Max(0, at - store.Now),
            "expiretime" => at / 1000,
            _ => at,
        });
    }

    public static void Persist(RespSession session, RespArguments args, IBufferWriter<byte> output) =>
        RespReply.Integer(output, session.Store.Persist(args[1]) == true ? 1 : 0);

    private enum Unit { Seconds, Milliseconds, UnixSeconds, UnixMilliseconds }

    /// <summary>
    /// The deadline a time argument gives, or Redis's error: not an integer; not positive (SET's and SETEX's); past
    /// what milliseconds since 1970 can hold. EXPIRE's may be zero, negative or past: the key then goes at once.
    /// </summary>
    private static string? Deadline(long now, ReadOnlySpan<byte> text, Unit unit, string command, out long deadline,
        bool allowPast = false)
    {
        deadline = 0;
        if (!RequestParser.TryParseInteger(text, out var number)) return NotAnInteger;
        var invalid = $"invalid expire time in '{command}' command";
        if (number <= 0 && !allowPast) return invalid;
        var milliseconds = unit is Unit.Seconds or Unit.UnixSeconds
            ? (System.Numerics.BigInteger)number * 1000 : number;
        var at = unit is Unit.Seconds or Unit.Milliseconds ? milliseconds + now : milliseconds;
        if (at > long.MaxValue || at < long.MinValue || milliseconds > long.MaxValue
            || milliseconds < long.MinValue) return invalid;
        deadline = (long)at;
        return null;
    }
}
