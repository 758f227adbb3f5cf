// src/resp/RespIntrospection.cs: COMMAND COUNT, COMMAND LIST and COMMAND DOCS, read from RespCommands.All, so that
// interactive redis-cli shows KV's own commands with their summaries (it asks COMMAND DOCS when it starts) and a
// client library can count what the server knows. The table is the one answer: no list of commands is written here.

using System.Buffers;

namespace KV;

public static class RespIntrospection
{
    public static void Command(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        if (args.Count >= 2 && args.Is(1, "count"u8) && args.Count == 2)
            RespReply.Integer(output, RespCommands.All.Length);
        else if (args.Count >= 2 && args.Is(1, "list"u8) && args.Count == 2)
        {
            RespReply.ArrayHeader(output, RespCommands.All.Length);
            foreach (var command in RespCommands.All) RespReply.Bulk(output, command.Name);
        }
        else if (args.Count >= 2 && args.Is(1, "docs"u8))
        {
            var asked = args.Count == 2 ? RespCommands.All.ToList()
                : Enumerable.Range(2,
                    args.Count - 2).Select(i => RespCommands.Find(args[i])).OfType<RespCommand>().ToList();
            RespReply.MapHeader(output, asked.Count, session.Protocol);
            foreach (var command in asked)
            {
                RespReply.Bulk(output, command.Name);
                RespReply.MapHeader(output, 3, session.Protocol);
                RespReply.Bulk(output, "summary");
                RespReply.Bulk(output, command.Summary);
                RespReply.Bulk(output, "since");
                RespReply.Bulk(output, "1.0.0");
                RespReply.Bulk(output, "group");
                RespReply.Bulk(output, "kv");
            }
        }
        else RespReply.Error(output,
            $"unknown subcommand '{(args.Count > 1 ? args.Text(1) : "")}'. KV answers COMMAND COUNT, LIST and DOCS.");
    }
}
