// src/monitor/MonitorCommands.cs: the monitor feature's commands, registered into both protocols' tables when this
// folder is part of the program (the core names no feature).
//
//   monitor   KV's: `OK`, then a line a request: `1764489600.123456 [7 127.0.0.1:51234 pool-12] set k v`
//   MONITOR   RESP's, in Redis's own format, so that `redis-cli monitor` reads KV as it reads Redis:
//             `+1764489600.123456 [0 127.0.0.1:51234] "SET" "k" "v"`, a status line a request
// Both end when their client sends again (that request is then answered) or leaves; the monitors and their bounds
// are MonitorFeed's.

using System.Buffers;
using System.Runtime.CompilerServices;

namespace KV;

public static class MonitorCommands
{
    [ModuleInitializer]
    internal static void Register()
    {
        LineCommands.Register(CommandKind.Monitor, Monitor);
        RespCommands.Register(new("monitor", 1,
            "+OK, then every request from any client, in Redis's format, until this client sends again", RespMonitor)
        { InTransaction = false });
    }

    /// <summary>`monitor`: OK (or an error when MonitorFeed.Max watch already), then a line a request.</summary>
    private static bool Monitor(ClientSession session, ParsedRequest request, IBufferWriter<byte> output)
    {
        // A request already sent after `monitor` ends it at once, as the next request always does: OK, and no lines.
        if (session.MoreBuffered) ReplyWriter.Ok(output);
        else session.Deferred = new MonitorFeed(session.Activity, ReplyWriter.Ok, static (output, request) =>
            output.Write(request.Encoded(0, static request => MonitorLines.Encode(request, static (request, line) =>
            {
                request.WriteKvLine(line);
                line.Write("\n"u8);
            })))).RunAsync;
        return false;
    }

    /// <summary>MONITOR: the same over RESP.</summary>
    private static void RespMonitor(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        if (session.MoreBuffered) RespReply.Ok(output);
        else session.Deferred = new MonitorFeed(session.Activity, RespReply.Ok, WriteRespLine).RunAsync;
    }

    /// <summary>Redis's line: time, `[database address]`, each word quoted; KV has one database, 0.</summary>
    private static void WriteRespLine(IBufferWriter<byte> output, ObservedRequest request) =>
        output.Write(request.Encoded(1, static request => MonitorLines.Encode(request, static (request, line) =>
        {
            line.Write("+"u8);
            request.WriteTimestamp(line);
            line.Write(" [0 "u8);
            MonitorLines.Text(line, request.Address);
            line.Write("] "u8);
            request.WriteWords(line, quoted: true);
            line.Write("\r\n"u8);
        })));
}
