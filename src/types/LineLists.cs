// src/types/LineLists.cs: feature: the queue lesson in KV's own protocol: `lpush`, `rpush`, `lpop`, `rpop`,
// `blpop`, `brpop`, `llen`, `lrange` and `type`, rows of the one command table (Protocol.cs) answered here over
// the same lists as RESP's LPUSH and BLPOP. A blocking pop waits as BLPOP does (BlockingPops), and answers an
// ERROR when its seconds pass.

using System.Buffers;
using System.Globalization;
using System.Text;

namespace KV;

internal static class LineLists
{
    public static void Register()
    {
        LineCommands.Register(CommandKind.LPush, Push);
        LineCommands.Register(CommandKind.RPush, Push);
        LineCommands.Register(CommandKind.LPop, Pop);
        LineCommands.Register(CommandKind.RPop, Pop);
        LineCommands.Register(CommandKind.BLPop, PopOrWait);
        LineCommands.Register(CommandKind.BRPop, PopOrWait);
        LineCommands.Register(CommandKind.LLen, Length);
        LineCommands.Register(CommandKind.LRange, Range);
        LineCommands.Register(CommandKind.Type, Type);
    }

    private static bool Push(ClientSession session, ParsedRequest request, IBufferWriter<byte> output)
    {
        var store = session.Store;
        var (key, value) = (request.Key.ToArray(), request.Value.ToArray());
        var left = request.Command!.Kind == CommandKind.LPush;
        var length = store.Atomically((store, key, value, left), static step =>
        {
            if (!step.store.Fits(ListValue.CostOf(step.value.Length))) return -1;
            var list = step.store.Find<ListValue>(step.key, forChange: true);
            if (list is null)
            {
                list = new ListValue();
                if (step.store.Add(step.key, list) != SetResult.Stored) return -1;
            }
            list.Push(step.value, step.left);
            TypeCommands.Changed(step.store, step.key, list, empty: false, step.left ? "lpush" : "rpush");
            return list.Count;
        });
        if (length < 0) ReplyWriter.Error(output, Errors.OutOfMemory(store.AccountedBytes, store.MaxBytes));
        else ReplyWriter.Counted(output, length);
        return false;
    }

    private static bool Pop(ClientSession session, ParsedRequest request, IBufferWriter<byte> output)
    {
        var left = request.Command!.Kind == CommandKind.LPop;
        var taken = session.Store.Atomically((session.Store, key: request.Key.ToArray(), left),
            static step => ListCommands.TakeOne(step.Store, step.key, step.left));
        if (taken is null) ReplyWriter.Error(output, Errors.EmptyList(request.Key));
        else ReplyWriter.Value(output, taken);
        return false;
    }

    private static bool PopOrWait(ClientSession session, ParsedRequest request, IBufferWriter<byte> output)
    {
        var left = request.Command!.Kind == CommandKind.BLPop;
        var key = request.Key.ToArray();
        var seconds = request.Amount;
        var timeout = seconds == 0 ? Timeout.InfiniteTimeSpan : TimeSpan.FromSeconds(seconds);
        BlockingPops.Block(session, [key], timeout, output,
            none => ReplyWriter.Error(none, Errors.NothingArrived(key, seconds)), (store, waited) =>
            {
                if (ListCommands.TakeOne(store, waited, left) is not { } element) return null;
                var reply = new ArrayBufferWriter<byte>();
                ReplyWriter.Value(reply, element);
                return reply.WrittenSpan.ToArray();
            });
        return false;
    }

    private static bool Length(ClientSession session, ParsedRequest request, IBufferWriter<byte> output)
    {
        var count = session.Store.Find<ListValue>(request.Key)?.Count ?? 0;
        ReplyWriter.Value(output, Encoding.ASCII.GetBytes(count.ToString(CultureInfo.InvariantCulture)));
        return false;
    }

    private static bool Range(ClientSession session, ParsedRequest request, IBufferWriter<byte> output)
    {
        session.Store.Atomically((session.Store, key: request.Key.ToArray(), request.Amount, request.Stop, output),
            static step =>
            {
                var list = step.Store.Find<ListValue>(step.key);
                if (list is null || !TypeCommands.Clamp(step.Amount, step.Stop, list.Count, out var from, out var to))
                {
                    ReplyWriter.ValuesHeader(step.output, 0);
                    return;
                }
                ReplyWriter.ValuesHeader(step.output, to - from + 1);
                foreach (var element in list.Slice(from, to))
                {
                    if (OutputBuffer.Cut(step.output)) return;
                    ReplyWriter.ValueLine(step.output, element);
                }
            });
        return false;
    }

    private static bool Type(ClientSession session, ParsedRequest request, IBufferWriter<byte> output)
    {
        if (session.Store.KindOf(request.Key) is { } kind) ReplyWriter.Value(output, Encoding.ASCII.GetBytes(kind));
        else ReplyWriter.Error(output, Errors.NotFound(request.Key));
        return false;
    }
}
