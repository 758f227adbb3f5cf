// src/server/LinePubSub.cs: publish and subscribe in KV's own protocol. `publish CHANNEL MESSAGE` answers `OK <n>`, the
// subscribers reached on both protocols; `subscribe` and `unsubscribe` answer `OK <n>`, the channels the connection
// is now subscribed to; a subscribed connection receives `MESSAGE <channel> <message>` lines as they are published.
// The channels are PubSub.cs's, shared with RESP's PUBLISH and SUBSCRIBE.

using System.Buffers;

namespace KV;

public static class LinePubSub
{
    public static void Publish(ClientSession session, ReadOnlySpan<byte> channel, ReadOnlySpan<byte> message, IBufferWriter<byte> output) =>
        ReplyWriter.Counted(output, session.Activity.PubSub.Publish(channel, message));

    /// <summary>`subscribe a b` or `unsubscribe [a b]` (every channel when none is named): `OK <channels now>`.</summary>
    public static void Change(ClientSession session, ReadOnlySpan<byte> names, bool subscribe, IBufferWriter<byte> output)
    {
        var subscriber = session.Subscriptions;
        if (subscribe && subscriber is null)
        {
            subscriber = session.Subscriptions = new Subscriber(session.Activity.PubSub, WriteMessage);
            subscriber.Open(session.Connection!);
        }
        if (subscriber is not null && !subscribe && names.IsEmpty) subscriber.UnsubscribeAll(patterns: false);
        else if (subscriber is not null && !subscribe)
            foreach (var channel in Split(names)) subscriber.Unsubscribe(channel, pattern: false);
        else if (subscriber is not null && subscriber.TrySubscribe(Split(names), pattern: false) is null)
        {
            ReplyWriter.Error(output, Subscriber.OverBudget);
            return;
        }
        ReplyWriter.Counted(output, subscriber?.Count ?? 0);
    }

    private static List<byte[]> Split(ReadOnlySpan<byte> names)
    {
        var channels = new List<byte[]>();
        foreach (var range in names.Split((byte)' ')) channels.Add(names[range].ToArray());
        return channels;
    }

    /// <summary>`MESSAGE <channel> <message>`; a message a RESP client published through a pattern subscription is the same line.</summary>
    private static void WriteMessage(IBufferWriter<byte> output, PushedMessage message)
    {
        output.Write("MESSAGE "u8);
        LineFraming.WriteLine(output, message.Channel, " "u8, message.Message);
    }
}
