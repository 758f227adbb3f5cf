// src/server/Server.cs: the listeners. KV's own protocol on the main port and, on ports of their own, the protocols
// features bring (FeatureListener), over one store. It accepts clients on each, admits them up to --max-clients (all
// counted together), gives each its own Conversation (served by the --threading model when its socket has data),
// logs who comes and goes, closes those silent for longer than --idle-timeout or slower than --request-timeout to
// finish a request, and on shutdown closes them all.
//
// It knows nothing of commands: what is said on a connection is LineHandler's, or a feature's handler's, job. A
// KVServer runs as well inside a test process as in KVServer.cs: `KVServer.Listen(options, log)`, then
// `RunAsync(stopping)`.

using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace KV;

/// <summary>Makes the handler of one connection: its store, the server's facts, its password gate, its peer.</summary>
public delegate IRequestHandler ConnectionHandlerFactory(KeyValueStore store, IServerFacts server,
    ConnectionAccess access, EndPoint? peer, int maxLineBytes);

/// <summary>A port that could not be listened on, and which one.</summary>
public sealed class ListenException(int port, SocketException inner) : Exception(inner.Message, inner)
{
    public int Port => port;
    public SocketError Error => inner.SocketErrorCode;
}

/// <summary>
/// What the server can say about itself, for whatever reports on it (`stats`, RESP's INFO); nothing of commands.
/// </summary>
public interface IServerFacts
{
    EndPoint Endpoint { get; }
    /// <summary>Where a feature's listener listens; null when it was not given a port.</summary>
    EndPoint? EndpointOf(FeatureListener feature);
    ServerOptions Options { get; }
    int ConnectedClients { get; }
    long ClientMemory { get; }
    TimeSpan Uptime { get; }
    ServerActivity Activity { get; }
    /// <summary>Connections the clients' memory budget has closed.</summary>
    long ClientEvictions { get; }
    long NextClientId();
}

public sealed class KVServer : IServerFacts
{
    private readonly Socket listener;
    private readonly (Socket Socket, FeatureListener Feature)[] featureListeners;
    private readonly ServerOptions options;
    private readonly Action<string> log;
    private readonly KeyValueStore store;
    private readonly ClientMemoryBudget clientMemory;
    private readonly PasswordGate password;
    private readonly BufferPool pool;
    private readonly IConnectionThreads threads;
    private readonly ConcurrentDictionary<Conversation, byte> conversations = new();
    private readonly Action<Conversation, string> conversationEnded;
    private readonly long started = Stopwatch.GetTimestamp();
    private readonly TaskCompletionSource everyClientGone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int connected;
    // The clients, plus one for the server until it stops: whoever takes it to zero (the last client to leave, or
    // the stop itself) says every client is gone. One counter, so the stop and a leaving client cannot miss each other.
    private int holdingOn = 1;
    private long lastClientId;

    private KVServer(Socket listener, (Socket, FeatureListener)[] featureListeners, ServerOptions options,
        Action<string> log, TimeProvider? time)
    {
        this.listener = listener;
        this.featureListeners = featureListeners;
        this.options = options;
        this.log = log;
        store = new KeyValueStore(options.MaxMemory, time, unguarded: options.UnsafeNoLock);
        StoreOpening?.Invoke(store, options);
        clientMemory = new ClientMemoryBudget(options.MaxClientMemory);
        pool = new BufferPool(retainBytes: options.MaxClientMemory > 0 ? options.MaxClientMemory : 64L << 20);
        password = new PasswordGate(options.Password);
        threads = options.Threading.Open();
        conversationEnded = Ended;
    }

    public EndPoint Endpoint => listener.LocalEndPoint!;
    public EndPoint? EndpointOf(FeatureListener feature) =>
        featureListeners.FirstOrDefault(open => open.Feature == feature).Socket?.LocalEndPoint;
    public int ConnectedClients => Volatile.Read(ref connected);
    public long NextClientId() => Interlocked.Increment(ref lastClientId);
    public ServerOptions Options => options;
    public long ClientMemory => clientMemory.Total;
    public TimeSpan Uptime => Stopwatch.GetElapsedTime(started);
    public ServerActivity Activity { get; } = new(TimeProvider.System);
    public long ClientEvictions => clientMemory.Evictions;

    /// <summary>
    /// What features set on a new server's store from the options they registered (src/eviction's policy).
    /// </summary>
    public static event Action<KeyValueStore, ServerOptions>? StoreOpening;

    /// <summary>
    /// Binds and listens (a ListenException naming the port when it cannot); `log` receives one line per event; keys'
    /// deadlines are read against `time` (the system's clock unless a test brings its own).
    /// </summary>
    public static KVServer Listen(ServerOptions options, Action<string> log, TimeProvider? time = null)
    {
        var listener = Open(options.Bind, options.Port);
        List<(Socket, FeatureListener)> features = [];
        try
        {
            foreach (var feature in FeatureListeners.All)
                if (options.PortOf(feature) is { } port) features.Add((Open(options.Bind, port), feature));
            return new KVServer(listener, [.. features], options, log, time);
        }
        catch
        {
            listener.Dispose();
            foreach (var (socket, _) in features) socket.Dispose();
            throw;
        }
    }

    private static Socket Open(IPAddress? bind, int port)
    {
        var dualStack = bind is null && Socket.OSSupportsIPv6;
        var address = bind ?? (dualStack ? IPAddress.IPv6Any : IPAddress.Any);
        var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (dualStack) socket.DualMode = true;
            socket.Bind(new IPEndPoint(address, port));
            socket.Listen(backlog: 4096);
            return socket;
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new ListenException(port, e);
        }
    }

    /// <summary>Accepts until stopped, then closes every client and waits a few seconds for them to go.</summary>
    public async Task RunAsync(CancellationToken stopping)
    {
        await Task.WhenAll([AcceptAsync(listener, null, stopping),
            .. featureListeners.Select(open => AcceptAsync(open.Socket, open.Feature, stopping)),
            CloseSlowAsync(stopping), Activity.SampleAsync(stopping), store.ExpireActivelyAsync(stopping)]);
        // Like Redis, close without a word: a line the client did not ask for would be read as the next reply.
        foreach (var conversation in conversations.Keys) conversation.Interrupt("the server is stopping");
        LetGo();
        var deadline = Task.Delay(ShutdownDeadline, CancellationToken.None);
        if (await Task.WhenAny(everyClientGone.Task, deadline) == deadline)
            log($"stopped with {ClientCount(ConnectedClients)} still ending");
        threads.Dispose();
    }

    /// <summary>How long shutdown waits for the clients to go once they are told.</summary>
    public static readonly TimeSpan ShutdownDeadline = TimeSpan.FromSeconds(2);

    /// <summary>Accepts on one listener: KV's own protocol (no feature), or a feature's.</summary>
    private async Task AcceptAsync(Socket listening, FeatureListener? feature, CancellationToken stopping)
    {
        using (listening)
        {
            while (!stopping.IsCancellationRequested)
            {
                Socket? socket = null;
                try
                {
                    socket = await listening.AcceptAsync(stopping);
                    // Before the client is counted: a peer that reset at once fails here and costs nothing.
                    socket.NoDelay = true;
                }
                catch (OperationCanceledException)
                {
                    continue;
                }
                catch (SocketException e)
                {
                    socket?.Dispose();
                    // Out of file descriptors, or a connection reset before it was accepted: the listener goes on.
                    log($"accept failed: {e.Message}");
                    await Task.Delay(10, CancellationToken.None);
                    continue;
                }
                Admit(socket, feature);
            }
        }
    }

    /// <summary>One client, accepted: refused when the server is full, else its conversation begins.</summary>
    private void Admit(Socket socket, FeatureListener? feature)
    {
        var peer = Describe(socket.RemoteEndPoint, feature);
        Interlocked.Increment(ref holdingOn);
        var count = Interlocked.Increment(ref connected);
        var peerEndpoint = socket.RemoteEndPoint;
        var access = password.NewConnection(ClientSession.AddressOf(peerEndpoint));
        var handler = feature is null
            ? new LineHandler(new ClientSession(store, this, access, peerEndpoint), options.MaxLineBytes)
            : feature.Handler(store, this, access, peerEndpoint, options.MaxLineBytes);
        if (count > options.MaxClients)
        {
            Activity.ConnectionRefused();
            _ = RefuseAsync(socket, handler, peer);
            return;
        }
        Activity.ConnectionAccepted();
        log($"+ {peer} connected ({ClientCount(count)})");
        var conversation = new Conversation(socket, feature, handler, clientMemory, pool, threads, conversationEnded);
        conversations.TryAdd(conversation, 0);
        conversation.Start();
    }

    private void Ended(Conversation conversation, string reason)
    {
        conversations.TryRemove(conversation, out _);
        log($"- {Describe(conversation.Peer, conversation.Listener)} disconnected: {reason} ({ClientCount(Left())})");
    }

    private int Left()
    {
        var left = Interlocked.Decrement(ref connected);
        LetGo();
        return left;
    }

    private void LetGo()
    {
        if (Interlocked.Decrement(ref holdingOn) == 0) everyClientGone.TrySetResult();
    }

    /// <summary>
    /// Closes the clients silent for longer than --idle-timeout (no request completed, or replies unread, for that
    /// long) and those whose request has not finished arriving within --request-timeout; checks a few times a timeout.
    /// </summary>
    private async Task CloseSlowAsync(CancellationToken stopping)
    {
        var (idle, request) = (options.IdleTimeout, options.RequestTimeout);
        var shortest = new[] { idle, request }.Where(t => t > TimeSpan.Zero).DefaultIfEmpty().Min();
        if (shortest == TimeSpan.Zero) return;
        using var timer = new PeriodicTimer(TimeSpan.FromTicks(Math.Clamp(shortest.Ticks / 4,
            TimeSpan.TicksPerMillisecond * 50, TimeSpan.TicksPerSecond)));
        try
        {
            while (await timer.WaitForNextTickAsync(stopping))
                foreach (var conversation in conversations.Keys)
                {
                    if (idle > TimeSpan.Zero && conversation.Silent > idle)
                        Close(conversation, $"idle for {idle.TotalSeconds} s", lastWord: false);
                    else if (request > TimeSpan.Zero && conversation.Unfinished > request)
                        Close(conversation, Errors.RequestTimeout(request), lastWord: true);
                }
        }
        catch (OperationCanceledException) { }
    }

    /// <summary>A limit closes it: counted once, however many ticks see it before it ends.</summary>
    private void Close(Conversation conversation, string reason, bool lastWord)
    {
        if (conversation.Interrupt(reason, lastWord)) Activity.ClosedByLimit();
    }

    private static string ClientCount(int count) => count == 1 ? "1 client" : $"{count} clients";

    /// <summary>Made when it is logged, not kept: an idle connection holds nothing it does not need.</summary>
    private static string Describe(EndPoint? peer, FeatureListener? feature) =>
        ClientSession.NameOf(peer) + (feature is null ? "" : $" over {feature.Name}");

    /// <summary>What the server knows it holds: the clients' buffers and listings, and the store's pairs.</summary>
    public long HeldBytes => clientMemory.Total + store.PairBytes;

    /// <summary>Lets go of the buffer blocks kept for reuse beyond `keepBytes` (after a burst).</summary>
    public void TrimBuffers(long keepBytes) => pool.Trim(keepBytes);

    /// <summary>
    /// What a feature runs beside the server of a process for as long as it serves (a memory keeper), started by
    /// KVServer.cs with the server and the log; a server inside a test process runs none.
    /// </summary>
    public static List<Func<KVServer, Action<string>, CancellationToken, Task>> Companions { get; } = [];

    /// <summary>The refusal in the client's protocol, then the end of the connection.</summary>
    private async Task RefuseAsync(Socket socket, IRequestHandler handler, string peer)
    {
        var refusal = Errors.TooManyClients(options.MaxClients);
        log($"! {peer} refused: {refusal}");
        try
        {
            var writer = new ArrayBufferWriter<byte>();
            handler.WriteError(writer, refusal);
            await socket.SendAsync(writer.WrittenMemory);
            socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
        finally
        {
            socket.Dispose();
            Left();
        }
    }
}
