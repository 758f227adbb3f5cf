// src/pubsub/RespPubSub.cs: Redis's publish and subscribe over RESP: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE
// (patterns in the glob of KEYS), PUBLISH, PUBSUB CHANNELS, NUMSUB and NUMPAT, with RESP2's subscribed mode (only
// the subscription commands, PING, QUIT and RESET are allowed) and RESP3's push messages after HELLO 3. The channels
// are PubSubHub's, shared with KV's own protocol: a message published on either reaches subscribers on both, so a
// channel follows KV's key rules and a message its value rules.

using System.Buffers;

namespace KV;

/// <summary>A RESP subscriber: in RESP2 it may only manage its subscriptions, ping (answered Redis's way) and leave.
/// </summary>
public sealed class RespSubscriber(PubSubHub hub, Action<IBufferWriter<byte>, PushedMessage> write)
    : Subscriber(hub, write), IRespMode
{
    public bool Answers(RespSession session, RespCommand command, RespArguments args, IBufferWriter<byte> output)
    {
        if (session.Protocol != 2) return false;
        if (command.Name is not ("subscribe" or "unsubscribe" or "psubscribe" or "punsubscribe" or "ping" or "quit"
            or "reset"))
        {
            RespReply.Error(output, $"Can't execute '{command.Name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / "
                + "QUIT / RESET are allowed in this context");
            return true;
        }
        if (command.Name != "ping") return false;
        // Redis's `[pong, message]`.
        RespReply.ArrayHeader(output, 2);
        RespReply.Bulk(output, "pong"u8);
        if (args.Count > 1) RespReply.Bulk(output, args.Sequence(1));
        else RespReply.Bulk(output, ReadOnlySpan<byte>.Empty);
        return true;
    }
}

public static class RespPubSub
{
    public static void Subscribe(RespSession session, RespArguments args, IBufferWriter<byte> output) =>
        Change(session, args, output, subscribe: true, patterns: false);
    public static void PSubscribe(RespSession session, RespArguments args, IBufferWriter<byte> output) =>
        Change(session, args, output, subscribe: true, patterns: true);
    public static void Unsubscribe(RespSession session, RespArguments args, IBufferWriter<byte> output) =>
        Change(session, args, output, subscribe: false, patterns: false);
    public static void PUnsubscribe(RespSession session, RespArguments args, IBufferWriter<byte> output) =>
        Change(session, args, output, subscribe: false, patterns: true);

    /// <summary>
    /// One confirmation a channel or pattern, as Redis sends them: `[kind, name, subscriptions now]`.
    /// </summary>
    private static void Change(RespSession session, RespArguments args, IBufferWriter<byte> output, bool subscribe,
        bool patterns)
    {
        var kind = (patterns ? "p" : "") + (subscribe ? "" : "un") + "subscribe";
        if (subscribe)
            for (var i = 1; i < args.Count; i++)
            {
                // A pattern is compiled, and matched against every channel published to: as long as KEYS allows.
                var limit = RedisGlob.MaxPatternBytes;
                var problem = !patterns ? RequestParser.KeyProblem(args[i])
                    : args[i].Length > limit ? $"pattern longer than {limit} bytes" : null;
                if (problem is not null)
                {
                    RespReply.Error(output, problem);
                    return;
                }
            }
        var subscriber = session.Mode as Subscriber;
        if (subscribe && subscriber is null)
        {
            subscriber = new RespSubscriber(PubSubHub.Of(session.Activity), (o, m) => WriteMessage(session, o, m));
            session.Mode = subscriber;
            subscriber.Open(session.Connection!);
        }
        var names = args.Count > 1 ? Enumerable.Range(1, args.Count - 1).Select(i => args[i].ToArray()).ToList()
            : subscriber is null ? [] : [.. patterns ? subscriber.Patterns : subscriber.Channels];
        if (names.Count == 0)
        {
            // Nothing to unsubscribe from: Redis still answers once, with a nil name.
            Confirmation(session, output, kind, null, subscriber?.Count ?? 0);
            return;
        }
        // Subscribed all or none (the budget); unsubscribed from every one named, or from every one there is in one
        // pass; then confirmed one by one, with the number of subscriptions after each.
        var counts = subscribe ? subscriber!.TrySubscribe(names, patterns) : null;
        if (subscribe && counts is null)
        {
            RespReply.Error(output, Subscriber.OverBudget);
            return;
        }
        var count = subscriber?.Count ?? 0;
        if (!subscribe && args.Count == 1) subscriber?.UnsubscribeAll(patterns);
        for (var i = 0; i < names.Count; i++)
        {
            if (!subscribe && args.Count > 1) subscriber?.Unsubscribe(names[i], patterns);
            count = counts?[i] ?? (args.Count > 1 ? subscriber?.Count ?? 0 : count - 1);
            Confirmation(session, output, kind, names[i], count);
        }
    }

    private static void Confirmation(RespSession session, IBufferWriter<byte> reply, string kind, byte[]? name,
        int count)
    {
        // Sent whatever CLIENT REPLY says, as Redis sends it.
        var output = session.Always ?? reply;
        PushHeader(session, output, 3);
        RespReply.Bulk(output, kind);
        if (name is null) RespReply.Null(output, session.Protocol);
        else RespReply.Bulk(output, name);
        RespReply.Integer(output, count);
    }

    /// <summary>
    /// `message channel payload`, or `pmessage pattern channel payload`: an array in RESP2, a push in RESP3.
    /// </summary>
    private static void WriteMessage(RespSession session, IBufferWriter<byte> output, PushedMessage message)
    {
        PushHeader(session, output, message.Pattern is null ? 3 : 4);
        RespReply.Bulk(output, message.Pattern is null ? "message"u8 : "pmessage"u8);
        if (message.Pattern is { } pattern) RespReply.Bulk(output, pattern);
        RespReply.Bulk(output, message.Channel);
        RespReply.Bulk(output, message.Message);
    }

    private static void PushHeader(RespSession session, IBufferWriter<byte> output, int count)
    {
        if (session.Protocol == 3) output.Write(System.Text.Encoding.ASCII.GetBytes($">{count}\r\n"));
        else RespReply.ArrayHeader(output, count);
    }

    public static void Publish(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        var channel = args[1];
        var message = args[2];
        if (RequestParser.KeyProblem(channel) is { } problem) RespReply.Error(output, problem);
        else RespReply.Integer(output, PubSubHub.Of(session.Activity).Publish(channel, message));
    }

    /// <summary>PUBSUB CHANNELS [pattern], NUMSUB [channel ...], NUMPAT.</summary>
    public static void PubSub(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        var hub = PubSubHub.Of(session.Activity);
        if (args.Is(1, "channels"u8) && args.Count <= 3)
        {
            var channels = hub.Channels(args.Count == 3 ? RedisGlob.Compile(args[2]) : null);
            RespReply.ArrayHeader(output, channels.Count);
            foreach (var channel in channels) RespReply.Bulk(output, channel);
        }
        else if (args.Is(1, "numsub"u8))
        {
            RespReply.MapHeader(output, args.Count - 2, session.Protocol);
            for (var i = 2; i < args.Count; i++)
            {
                RespReply.Bulk(output, args.Sequence(i));
                RespReply.Integer(output, hub.Subscribers(args[i]));
            }
        }
        else if (args.Is(1, "numpat"u8) && args.Count == 2) RespReply.Integer(output, hub.PatternCount);
        else RespReply.UnknownSubcommand(output, args.Text(1), "PUBSUB");
    }
}
