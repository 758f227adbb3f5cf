// src/pubsub/PubSubRegistration.cs: how publish and subscribe join the server when this folder is part of the
// program: KV's three commands and RESP's six into their tables, the keyspace notifications' CONFIG parameter, and
// the hub's figures into `stats` (and so INFO).
// The core names no feature; without this folder, `publish` is an ERROR that says it is not built in.

using System.Runtime.CompilerServices;

namespace KV;

internal static class PubSubRegistration
{
    [ModuleInitializer]
    internal static void Register()
    {
        LineCommands.Register(CommandKind.Publish, LinePubSub.Publish);
        LineCommands.Register(CommandKind.Subscribe, LinePubSub.Subscribe);
        LineCommands.Register(CommandKind.Unsubscribe, LinePubSub.Unsubscribe);
        RespCommand[] commands =
        [
            new("subscribe", -2, "receive the messages published on these channels (pushed: message, channel, payload)",
                RespPubSub.Subscribe) { InTransaction = false },
            new("unsubscribe", -1, "stop receiving from these channels, or from all", RespPubSub.Unsubscribe)
                { InTransaction = false },
            new("psubscribe", -2, "receive the messages of every channel matching these globs (pmessage)",
                RespPubSub.PSubscribe) { InTransaction = false },
            new("punsubscribe", -1, "stop receiving for these patterns, or for all", RespPubSub.PUnsubscribe)
                { InTransaction = false },
            new("publish", 3, "send a message to the channel's subscribers, on both protocols: how many received it",
                RespPubSub.Publish),
            new("pubsub", -2, "PUBSUB CHANNELS [pattern], NUMSUB [channel ...], NUMPAT", RespPubSub.PubSub),
        ];
        foreach (var command in commands) RespCommands.Register(command);
        RespConfig.Register(KeyspaceNotifications.Parameter);
        ServerStats.Register(static (server, _) =>
        {
            var hub = PubSubHub.Of(server.Activity);
            return
            [
                new("pubsub_channels", hub.ChannelCount),
                new("pubsub_patterns", hub.PatternCount),
                new("messages_published", hub.Published),
                new("subscribers_dropped", hub.SubscribersDropped),
            ];
        });
    }
}
