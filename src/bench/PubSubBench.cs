// src/bench/PubSubBench.cs: `dotnet bench.cs -- --pubsub --port P [--seconds S]`, publish and subscribe measured: one
// publisher sends 100-byte messages as fast as it can (16 PUBLISH in flight) to one channel with 1, 10 and 100
// subscribers, which read everything; the table gives the messages published and delivered a second. It speaks RESP,
// so that KV's RESP port and Redis meet the same client (redis-benchmark has no pub/sub test).

using System.Net.Sockets;
using System.Text;

namespace KV;

static class PubSubBench
{
    private const int Depth = 16;
    private static readonly byte[] Payload = Enumerable.Repeat((byte)'m', 100).ToArray();

    public static async Task<int> RunAsync(BenchOptions options)
    {
        Console.WriteLine($"pubsub: one publisher, 100-byte messages, {Depth} in flight, {options.Seconds} s a case, " +
            $"at {options.Host}:{options.Port} (RESP)");
        Console.WriteLine($"{"subscribers",11} {"published/s",12} {"delivered/s",12}");
        foreach (var count in new[] { 1, 10, 100 })
        {
            var (published, delivered) = await MeasureAsync(options, count);
            Console.WriteLine($"{count,11} {published / options.Seconds,12:N0} {delivered / options.Seconds,12:N0}");
        }
        return 0;
    }

    private static async Task<(long Published, long Delivered)> MeasureAsync(BenchOptions options, int subscriberCount)
    {
        var channel = $"bench:{Guid.NewGuid():N}";
        // What one message costs a subscriber on the wire: counting bytes counts messages, with no parsing.
        var header = $"*3\r\n$7\r\nmessage\r\n${channel.Length}\r\n{channel}\r\n${Payload.Length}\r\n";
        var frame = Encoding.ASCII.GetBytes(header).Length + Payload.Length + 2;
        var subscribers = new List<Socket>();
        for (var i = 0; i < subscriberCount; i++)
        {
            var socket = await Load.ConnectAsync(options);
            await socket.SendAsync(Command("SUBSCRIBE", channel));
            var confirmation = new byte[256];
            await socket.ReceiveAsync(confirmation);
            subscribers.Add(socket);
        }
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(options.Seconds));
        var received = new long[subscriberCount];
        var readers = subscribers.Select((socket, i) => Task.Run(async () =>
        {
            var buffer = new byte[1 << 16];
            try
            {
                while (true) received[i] += await socket.ReceiveAsync(buffer, SocketFlags.None, stop.Token);
            }
            catch (OperationCanceledException) { }
        })).ToList();

        using var publisher = await Load.ConnectAsync(options);
        var batch = Enumerable.Range(0, Depth).SelectMany(_ => Command("PUBLISH", channel, Payload)).ToArray();
        var replies = new byte[4096];
        var published = 0L;
        while (!stop.IsCancellationRequested)
        {
            await publisher.SendAsync(batch);
            // Each reply is `:n\r\n`: read until Depth line ends have come.
            for (var lines = 0; lines < Depth;)
            {
                var read = await publisher.ReceiveAsync(replies);
                if (read == 0) throw new IOException("the server closed the publisher's connection");
                lines += replies.AsSpan(0, read).Count((byte)'\n');
            }
            published += Depth;
        }
        await Task.WhenAll(readers);
        foreach (var socket in subscribers) socket.Dispose();
        return (published, received.Sum() / frame);
    }

    private static byte[] Command(string name, string channel, byte[]? payload = null)
    {
        var head = payload is null
            ? $"*2\r\n${name.Length}\r\n{name}\r\n${channel.Length}\r\n{channel}\r\n"
            : $"*3\r\n${name.Length}\r\n{name}\r\n${channel.Length}\r\n{channel}\r\n${payload.Length}\r\n";
        return payload is null ? Encoding.ASCII.GetBytes(head) : [.. Encoding.ASCII.GetBytes(head), .. payload,
            (byte)'\r', (byte)'\n'];
    }
}
