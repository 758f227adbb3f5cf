// src/resp/RespMonitor.cs: MONITOR over RESP, in Redis's own format, so that `redis-cli monitor` reads KV as it reads
// Redis: `+1764489600.123456 [0 127.0.0.1:51234] "SET" "k" "v"`, a status line a request. The monitors and their
// bounds are Monitor.cs's, shared with KV's own `monitor`; only the line is RESP's.

using System.Buffers;
using System.Text;

namespace KV;

public static class RespMonitor
{
    /// <summary>MONITOR: `+OK` (or an error when MonitorHub.Max watch already), then every request from any client, until this client sends again or leaves.</summary>
    public static void Monitor(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        // A request already sent after MONITOR ends it at once, as the next request always does: +OK, and no lines.
        if (session.MoreBuffered) RespReply.Ok(output);
        else session.Deferred = new MonitorFeed(session.Activity, RespReply.Ok, WriteLine).RunAsync;
    }

    /// <summary>Redis's line: time, `[database address]`, each word quoted; KV has one database, 0.</summary>
    private static void WriteLine(IBufferWriter<byte> output, MonitorEvent request)
    {
        var line = new StringBuilder("+").Append(request.Timestamp).Append(" [0 ").Append(request.Address).Append("] ");
        request.AppendWords(line, quoted: true);
        output.Write(Encoding.UTF8.GetBytes(line.Append("\r\n").ToString()));
    }

    /// <summary>A RESP request as the monitors see it: its arguments, long ones cut short, AUTH's (and HELLO's AUTH) redacted as Redis does.</summary>
    public static MonitorEvent EventOf(RespSession session, RespArguments args)
    {
        var words = new MonitorWord[args.Count];
        var redacted = args.Is(0, "auth"u8) ? 1 : int.MaxValue;
        for (var i = 0; i < words.Length; i++)
        {
            if (i >= redacted && i < redacted + (args.Is(0, "auth"u8) ? args.Count : 2))
            {
                words[i] = MonitorWord.Redacted;
                continue;
            }
            words[i] = MonitorWord.Of(args[i]);
            if (args.Is(0, "hello"u8) && args.Is(i, "auth"u8)) redacted = i + 1;
        }
        return new MonitorEvent(session.Activity.Time.GetUtcNow(), session.Id, session.Address, ThreadingModels.ThreadLabel, Typed: false, words);
    }
}
