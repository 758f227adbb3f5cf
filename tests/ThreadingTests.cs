// tests/ThreadingTests.cs: the three threading models (--threading) seen from inside: which thread answers a
// client's requests, and where an answer that waits runs. A Conversation is served over a real socket pair by a
// protocol that notes its thread. What every model must do the same (limits, timeouts, the password, stopping)
// is tested in the other classes, as theories over the models.

using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using KV;
using Xunit;

public class ThreadingTests
{
    private sealed record Noted(string Request, int Thread, string? Name, bool OnPool);

    /// <summary>Answers each line with `ok`, noting the thread; `wait` is answered by a deferred reply, as a listing is.</summary>
    private sealed class ThreadNoting : IRequestHandler
    {
        private DeferredReply? deferred;
        public ConcurrentQueue<Noted> Seen { get; } = new();

        private void Note(string request) =>
            Seen.Enqueue(new(request, Environment.CurrentManagedThreadId, Thread.CurrentThread.Name, ThreadingModels.OnPool));

        public bool TryAnswer(ref ReadOnlySequence<byte> buffer, IBufferWriter<byte> output, out string? ending)
        {
            ending = null;
            if (!LineFraming.TryReadRequest(ref buffer, out var line)) return false;
            var request = Encoding.ASCII.GetString(line.ToArray());
            Note(request);
            if (request == "wait")
                deferred = context =>
                {
                    Note("deferred");
                    context.Output.Write("ok\n"u8);
                    return ValueTask.FromResult<string?>(null);
                };
            else output.Write("ok\n"u8);
            return true;
        }

        public string? RefuseUnfinished(ReadOnlySequence<byte> unfinished, IBufferWriter<byte> output) => null;
        public DeferredReply? TakeDeferred() => Interlocked.Exchange(ref deferred, null);
        public void WriteError(IBufferWriter<byte> output, string message) => output.Write(Encoding.ASCII.GetBytes($"ERROR: {message}\n"));
    }

    [Theory]
    [MemberData(nameof(Models.All), MemberType = typeof(Models))]
    public async Task Each_model_answers_a_client_on_its_own_kind_of_thread(string name)
    {
        var model = ThreadingModels.Parse(name)!.Value;
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(listener.LocalEndPoint!, Programs.Timeout());
        var accepted = await listener.AcceptAsync(Programs.Timeout());
        accepted.Blocking = false;

        var handler = new ThreadNoting();
        var ended = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var loops = model == ThreadingModel.Loops ? new EventLoops(1) : null;
        var conversation = new Conversation(accepted, WireProtocol.KV, handler, new ClientMemoryBudget(0), new BufferPool(1 << 20), model, loops,
            (_, reason) => ended.TrySetResult(reason));
        conversation.Start();
        await using var stream = new NetworkStream(client);
        using var replies = new StreamReader(stream);
        foreach (var request in new[] { "a", "b", "wait", "c" })
        {
            await stream.WriteAsync(Encoding.ASCII.GetBytes(request + "\n"), Programs.Timeout());
            Assert.Equal("ok", await replies.ReadLineAsync(Programs.Timeout()));
        }
        conversation.Interrupt("the test is over");
        Assert.Equal("the test is over", await ended.Task.WaitAsync(Programs.Patience, TestContext.Current.CancellationToken));

        var answered = handler.Seen.Where(seen => seen.Request != "deferred").ToList();
        var deferred = handler.Seen.Single(seen => seen.Request == "deferred");
        Assert.Equal(["a", "b", "wait", "c"], answered.Select(seen => seen.Request));
        switch (model)
        {
            case ThreadingModel.PerClient:
                // One thread, the client's own, for everything, the answer that waits too: it blocks there.
                Assert.Single(handler.Seen.Select(seen => seen.Thread).Distinct());
                Assert.All(handler.Seen, seen => Assert.Equal(("KV client", false), (seen.Name, seen.OnPool)));
                break;
            case ThreadingModel.Pool:
                Assert.All(handler.Seen, seen => Assert.True(seen.OnPool, $"{seen.Request} was answered off the pool"));
                break;
            case ThreadingModel.Loops:
                // Answered on the socket's event loop; long work on the pool. (What comes after it may be answered there
                // too, until the conversation waits again.)
                Assert.All(answered.Take(3), seen => Assert.Equal(("KV loop 1", false), (seen.Name, seen.OnPool)));
                Assert.True(deferred.OnPool, "the deferred answer ran on the event loop");
                break;
        }
    }
}
