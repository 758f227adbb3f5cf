// src/pubsub/KeyspaceNotifications.cs: feature: Redis's keyspace notifications. `CONFIG SET notify-keyspace-events`
// chooses classes of the store's events (KeyValueStore.Announce: `set`, `lpush`, `expired`); each one heard is
// published as Redis publishes it, on `__keyspace@0__:<key>` with the event as the message (K) and on
// `__keyevent@0__:<event>` with the key (E), to the subscribers of both protocols. Off by default, as in Redis: the
// store then has no listener, and an announcement costs one field read.

using System.Text;

namespace KV;

public sealed class KeyspaceNotifications(PubSubHub hub, KeyEventClass classes, bool keyspace, bool keyevent)
    : IKeyEventListener
{
    /// <summary>
    /// The letters in the order Redis writes them back (CONFIG GET), with the classes each one chooses. `A` is all of
    /// g$lshzxetd; `d` (modules' events) and `m` (key misses) are accepted, and KV announces neither.
    /// </summary>
    private static readonly (char Letter, KeyEventClass Class)[] Letters =
    [
        ('g', KeyEventClass.Generic), ('$', KeyEventClass.String), ('l', KeyEventClass.List),
        ('s', KeyEventClass.Set), ('h', KeyEventClass.Hash), ('z', KeyEventClass.SortedSet),
        ('x', KeyEventClass.Expired), ('e', KeyEventClass.Evicted), ('t', KeyEventClass.Stream),
        ('d', KeyEventClass.None), ('n', KeyEventClass.New),
    ];

    private const string AllLetters = "g$lshzxetd";
    private const string Invalid = "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.";

    public KeyEventClass Classes => classes;

    public void Heard(KeyEventClass eventClass, string name, byte[] key)
    {
        if (keyspace) hub.Publish([.. "__keyspace@0__:"u8, .. key], Encoding.UTF8.GetBytes(name));
        if (keyevent) hub.Publish(Encoding.UTF8.GetBytes("__keyevent@0__:" + name), key);
    }

    /// <summary>The letters chosen now, one set a server (kept to be read back).</summary>
    private sealed class Chosen
    {
        public volatile string Letters = "";
    }

    /// <summary>The parameter CONFIG GET and SET serve.</summary>
    public static ConfigParameter Parameter { get; } = new("notify-keyspace-events",
        session => session.Activity.Feature(_ => new Chosen()).Letters, Choose);

    /// <summary>
    /// CONFIG SET notify-keyspace-events: the letters read as Redis reads them, then the store's listener replaced
    /// (or removed: no class, or neither K nor E). Redis's error for a letter it does not know.
    /// </summary>
    private static string? Choose(RespSession session, string value)
    {
        if (value.Any(c => c is not ('A' or 'K' or 'E' or 'm') && Letters.All(l => l.Letter != c))) return Invalid;
        var letters = value.Replace("A", AllLetters, StringComparison.Ordinal);
        var chosen = Letters.Where(l => letters.Contains(l.Letter)).ToList();
        var canonical = chosen.Count(l => AllLetters.Contains(l.Letter)) == AllLetters.Length
            ? "A" + string.Concat(chosen.Where(l => !AllLetters.Contains(l.Letter)).Select(l => l.Letter))
            : string.Concat(chosen.Select(l => l.Letter));
        var (keyspace, keyevent) = (letters.Contains('K'), letters.Contains('E'));
        canonical += (keyspace ? "K" : "") + (keyevent ? "E" : "") + (letters.Contains('m') ? "m" : "");
        var classes = chosen.Aggregate(KeyEventClass.None, (all, l) => all | l.Class);
        session.Activity.Feature(_ => new Chosen()).Letters = canonical;
        session.Store.Listen(classes == KeyEventClass.None || !(keyspace || keyevent) ? null
            : new KeyspaceNotifications(PubSubHub.Of(session.Activity), classes, keyspace, keyevent));
        return null;
    }
}
