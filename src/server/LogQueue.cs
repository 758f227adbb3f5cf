// src/server/LogQueue.cs: the server's log, written so that it never holds a request up. A request's thread only
// stamps the line with the time and puts it in a bounded queue; one thread of the log's own writes the queue
// out. When the output is slow or stuck (a terminal paused with Ctrl+S, a pipe nobody reads), the queue fills
// and new lines are dropped and counted, and the count is written as soon as the output moves again. At
// shutdown the queue is written out for as long as the deadline allows, and no longer.

using System.Collections.Concurrent;
using System.Text;

namespace KV;

public sealed class LogQueue
{
    /// <summary>Lines waiting to be written; past it, lines are dropped and counted.</summary>
    public const int Capacity = 10_000;

    private readonly BlockingCollection<string> lines = new(Capacity);
    private readonly Stream output;
    private readonly TimeProvider time;
    private readonly Thread writer;
    private long dropped;

    /// <param name="output">Where the lines go (standard output); written by the log's own thread only.</param>
    public LogQueue(Stream output, TimeProvider? time = null)
    {
        this.output = output;
        this.time = time ?? TimeProvider.System;
        // A thread of its own, not the pool's: a write that blocks for minutes must cost no request a thread.
        writer = new Thread(WriteOut) { IsBackground = true, Name = "log writer" };
        writer.Start();
    }

    /// <summary>Lines dropped so far because the output did not keep up.</summary>
    public long Dropped => Interlocked.Read(ref dropped);

    /// <summary>Queues one line, stamped with the time (UTC, to the millisecond); never waits.</summary>
    public void Write(string line)
    {
        var stamped = $"{time.GetUtcNow():yyyy-MM-ddTHH:mm:ss.fffZ} {line}";
        if (!lines.TryAdd(stamped)) Interlocked.Increment(ref dropped);
    }

    /// <summary>Writes out what is queued, for at most `deadline`; true when all of it was written.</summary>
    public bool Close(TimeSpan deadline)
    {
        lines.CompleteAdding();
        return writer.Join(deadline);
    }

    private void WriteOut()
    {
        var text = new StringBuilder();
        long reported = 0;
        try
        {
            foreach (var first in lines.GetConsumingEnumerable())
            {
                text.Clear();
                var lost = Interlocked.Read(ref dropped);
                if (lost > reported)
                {
                    text.Append($"{time.GetUtcNow():yyyy-MM-ddTHH:mm:ss.fffZ} ({lost - reported} log lines dropped: " +
                        $"the output did not keep up)\n");
                    reported = lost;
                }
                // Everything queued goes in one write.
                text.Append(first).Append('\n');
                while (text.Length < 64 * 1024 && lines.TryTake(out var next)) text.Append(next).Append('\n');
                output.Write(Encoding.UTF8.GetBytes(text.ToString()));
                output.Flush();
            }
        }
        catch (IOException)
        {
            // The output is gone (a closed pipe): the server goes on without its log.
        }
    }
}
