// src/server/ClientSession.cs: what the server keeps for one client, whichever protocol it speaks: the store and the
// server it talks to, its password state, the id and address that `monitor` and the log show, and the part of its
// last answer that must wait. LineHandler uses it as it is; RESP's session adds what Redis keeps per client.

using System.Net;

namespace KV;

public class ClientSession(KeyValueStore store, IServerFacts server, ConnectionAccess access, EndPoint? peer)
{
    private string? address;

    public KeyValueStore Store => store;
    public IServerFacts Server => server;
    public ServerActivity Activity => server.Activity;
    public ConnectionAccess Access => access;

    /// <summary>Numbered from 1 in the order clients arrive, over both protocols (Redis's CLIENT ID).</summary>
    public long Id { get; } = server.NextClientId();

    /// <summary>The client's address as a person reads it; made the first time it is shown, not for every connection.</summary>
    public string Address => address ??= NameOf(peer);

    /// <summary>The connection (IReplyContext), for what the client holds against the clients' budget: a transaction, a subscriber's queue.</summary>
    public IReplyContext? Connection { get; set; }

    /// <summary>The channels and patterns subscribed to, and the queue their messages wait in; null until the first subscription.</summary>
    public Subscriber? Subscriptions { get; set; }

    /// <summary>
    /// Whether more bytes followed the request being answered in what was read (a pipeline): a subscriber then answers
    /// them before it waits for messages, since the client, having sent them, sends nothing more until they are answered.
    /// </summary>
    public bool MoreBuffered { get; set; }

    /// <summary>The part of the last answer that must wait (the handler hands it to the conversation).</summary>
    public DeferredReply? Deferred { get; set; }

    public DeferredReply? TakeDeferred()
    {
        var taken = Deferred;
        Deferred = null;
        return taken;
    }

    /// <summary>The client's IP address, the same for IPv4 over the dual-stack listener as for IPv4 itself.</summary>
    public static IPAddress AddressOf(EndPoint? peer) => peer switch
    {
        IPEndPoint { Address.IsIPv4MappedToIPv6: true } ip => ip.Address.MapToIPv4(),
        IPEndPoint ip => ip.Address,
        _ => IPAddress.None,
    };

    /// <summary>An IPv4 client of the dual-stack listener shows as 127.0.0.1:5000, not [::ffff:127.0.0.1]:5000.</summary>
    public static string NameOf(EndPoint? peer) => peer switch
    {
        IPEndPoint ip => new IPEndPoint(AddressOf(ip), ip.Port).ToString(),
        null => "?",
        _ => peer.ToString()!,
    };
}
