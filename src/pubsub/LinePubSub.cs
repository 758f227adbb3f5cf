// src/pubsub/LinePubSub.cs: publish and subscribe in KV's own protocol. `publish CHANNEL MESSAGE` answers `OK <n>`, the
// subscribers reached on both protocols; `subscribe` and `unsubscribe` answer `OK <n>`, the channels the connection
// is now subscribed to; a subscribed connection receives `MESSAGE <channel> <message>` lines as they are published.
// The channels are PubSubHub's, shared with RESP's PUBLISH and SUBSCRIBE.

using System.Buffers;

namespace KV;

public static class LinePubSub
{
    /// <summary>`publish CHANNEL MESSAGE`: `OK <subscribers reached>`.</summary>
    public static bool Publish(ClientSession session, ParsedRequest request, IBufferWriter<byte> output)
    {
        ReplyWriter.Counted(output, PubSubHub.Of(session.Activity).Publish(request.Key, request.Value));
        return false;
    }

    public static bool Subscribe(ClientSession session, ParsedRequest request, IBufferWriter<byte> output) =>
        Change(session, request, subscribe: true, output);

    public static bool Unsubscribe(ClientSession session, ParsedRequest request, IBufferWriter<byte> output) =>
        Change(session, request, subscribe: false, output);

    /// <summary>
    /// `subscribe a b` or `unsubscribe [a b]` (every channel when none is named): `OK <channels now>`.
    /// </summary>
    private static bool Change(ClientSession session, ParsedRequest request, bool subscribe, IBufferWriter<byte> output)
    {
        var subscriber = session.Mode as Subscriber;
        if (subscribe && subscriber is null)
        {
            subscriber = new Subscriber(PubSubHub.Of(session.Activity), WriteMessage);
            session.Mode = subscriber;
            subscriber.Open(session.Connection!);
        }
        if (subscriber is not null && !subscribe && request.ChannelWords.IsEmpty)
            subscriber.UnsubscribeAll(patterns: false);
        else if (subscriber is not null && !subscribe)
            foreach (var channel in request.Channels) subscriber.Unsubscribe(channel);
        else if (subscriber is not null && !subscriber.TrySubscribe(request.Channels))
        {
            ReplyWriter.Error(output, Subscriber.OverBudget);
            return false;
        }
        ReplyWriter.Counted(output, subscriber?.Count ?? 0);
        return false;
    }

    /// <summary>
    /// `MESSAGE <channel> <message>`, whichever protocol published it; each quoted when a line cannot hold it plainly.
    /// </summary>
    private static void WriteMessage(IBufferWriter<byte> output, PushedMessage message)
    {
        output.Write("MESSAGE "u8);
        QuotedForm.WriteKey(output, message.Channel);
        output.Write(" "u8);
        QuotedForm.WriteValue(output, message.Message);
        output.Write("\n"u8);
    }
}
