// tests/PackedTypesTests.cs: unit tests of the packed structures under lists, hashes, sets and sorted sets
// (src/types/ListValue.cs, PackedTable.cs, SortedSetOrder.cs): what they cost, and the table and the sorted order
// driven by random operations beside .NET's own Dictionary and SortedSet as the model, through every path: chunks
// compacted and dropped, entries of a chunk of their own, the table grown and shrunk, blocks split and merged,
// walks from a rank or a score either way. (A list beside List<byte[]>: TypesTests.)

using System.Text;
using KV;
using Xunit;

public class PackedTypesTests
{
    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    /// <summary>A key from a small range (so that sets, replacements and removals meet), now and then a large one.
    /// </summary>
    private static string KeyOf(Random random) =>
        random.Next(50) == 0 ? new string('k', 9000 + random.Next(100)) : $"key:{random.Next(3000)}";

    [Fact]
    public void A_list_of_elements_alike_costs_a_few_bytes_each_from_either_end()
    {
        foreach (var left in new[] { false, true })
        {
            var list = new ListValue();
            for (var i = 0; i < 100_000; i++) list.Push(Bytes($"element:{i}"), left);
            Assert.True(list.Bytes < 100_000 * 8, $"{list.Bytes} bytes for 100,000 elements of 14 (left: {left})");
            for (var i = 99_999; i >= 0; i--) Assert.Equal($"element:{i}", Encoding.UTF8.GetString(list.Pop(left)));
        }
    }

    [Fact]
    public void A_collection_of_three_takes_bytes_not_a_whole_chunk_and_grows_to_whole_chunks()
    {
        var list = new ListValue();
        var order = new SortedSetOrder();
        var table = new PackedTable();
        foreach (var (member, i) in new[] { "queued", "started", "finished" }.Select((m, i) => (m, i)))
        {
            list.Push(Bytes(member), left: i % 2 == 0);
            order.Insert(i, Bytes(member));
            table.Set(Bytes(member), Bytes("v"));
        }
        Assert.True(list.Bytes <= 256, $"a list of three: {list.Bytes} bytes");
        Assert.True(order.BytesHeld <= 64 + 64, $"a sorted order of three: {order.BytesHeld} bytes");
        Assert.True(table.BytesHeld <= 128, $"a table of three: {table.BytesHeld} bytes");
        var model = new List<string> { "finished", "queued", "started" };
        for (var i = 0; i < 2_000; i++)
        {
            list.Push(Bytes($"element:{i}"), left: i % 2 == 0);
            model.Insert(i % 2 == 0 ? 0 : model.Count, $"element:{i}");
            order.Insert(i, Bytes($"element:{i}"));
        }
        Assert.Equal(model, list.Slice(0, list.Count - 1).Select(Encoding.UTF8.GetString));
        var scores = order.Walk(0, reverse: false).Select(e => e.Score).ToList();
        Assert.Equal(2_003, scores.Count);
        Assert.Equal(scores.Order(), scores);
    }

    [Fact]
    public void A_packed_table_holds_what_a_dictionary_holds_through_sets_replacements_and_removals()
    {
        var random = new Random(7);
        var table = new PackedTable();
        var model = new Dictionary<string, string>();
        for (var step = 0; step < 60_000; step++)
        {
            var key = KeyOf(random);
            // Removals win for a while now and then, so that the table empties, shrinks and compacts.
            var removing = step / 10_000 % 2 == 1 ? random.Next(3) > 0 : random.Next(4) == 0;
            if (removing) Assert.Equal(model.Remove(key), table.Remove(Bytes(key)));
            else
            {
                var value = new string('v', random.Next(random.Next(20) == 0 ? 10_000 : 30));
                Assert.Equal(!model.ContainsKey(key), table.Set(Bytes(key), Bytes(value)));
                model[key] = value;
            }
            Assert.Equal(model.Count, table.Count);
        }
        foreach (var (key, value) in model)
        {
            Assert.True(table.TryGet(Bytes(key), out var entry));
            Assert.Equal(value, Encoding.UTF8.GetString(entry.Payload));
        }
        var walked = table.Entries.ToDictionary(e => Encoding.UTF8.GetString(e.Key),
            e => Encoding.UTF8.GetString(e.Payload));
        Assert.Equal(model.OrderBy(p => p.Key), walked.OrderBy(p => p.Key));
        var copy = table.Copy();
        foreach (var key in model.Keys.ToList()) Assert.True(table.Remove(Bytes(key)));
        Assert.Equal(0, table.Count);
        Assert.Equal(model.Count, copy.Count);
        Assert.Contains(Encoding.UTF8.GetString(copy.Random(random).Key), model.Keys);
    }

    [Fact]
    public void A_packed_table_gives_its_chunks_back_as_it_empties()
    {
        var table = new PackedTable();
        for (var i = 0; i < 100_000; i++) table.Set(Bytes($"member:{i}"), []);
        var full = table.BytesHeld;
        for (var i = 0; i < 99_990; i++) Assert.True(table.Remove(Bytes($"member:{i}")));
        Assert.True(table.BytesHeld < full / 100, $"{table.BytesHeld} of {full} bytes still held for 10 entries");
        for (var i = 99_990; i < 100_000; i++) Assert.True(table.TryGet(Bytes($"member:{i}"), out _));
    }

    private static readonly IComparer<(double Score, string Member)> Order = Comparer<(double Score, string Member)>
        .Create((x, y) => x.Score != y.Score ? x.Score.CompareTo(y.Score)
            : Bytes(x.Member).AsSpan().SequenceCompareTo(Bytes(y.Member)));

    private static List<(double, string)> Read(IEnumerable<(double Score, ReadOnlyMemory<byte> Member)> walk) =>
        [.. walk.Select(e => (e.Score, Encoding.UTF8.GetString(e.Member.Span)))];

    [Fact]
    public void A_sorted_set_order_walks_as_a_sorted_set_does_from_any_rank_or_score_either_way()
    {
        var random = new Random(11);
        var order = new SortedSetOrder();
        var model = new SortedSet<(double Score, string Member)>(Order);
        for (var step = 0; step < 40_000; step++)
        {
            var member = random.Next(40) == 0 ? new string('m', 5000 + random.Next(10)) : $"m{random.Next(4000)}";
            var score = random.Next(200);
            var removing = step / 8_000 % 2 == 1 ? random.Next(3) > 0 : random.Next(4) == 0;
            if (removing && model.Count > 0)
            {
                var held = model.ElementAt(random.Next(model.Count));
                Assert.True(order.Remove(held.Score, Bytes(held.Member)));
                model.Remove(held);
                Assert.False(order.Remove(held.Score, Bytes(held.Member)));
            }
            else if (model.Add((score, member))) order.Insert(score, Bytes(member));
            Assert.Equal(model.Count, order.Count);
            if (step % 997 != 0 || model.Count == 0) continue;
            Assert.Equal(model.ToList(), Read(order.Walk(0, reverse: false)));
            Assert.Equal(model.Reverse().ToList(), Read(order.Walk(0, reverse: true)));
            var skip = random.Next(model.Count);
            Assert.Equal(model.Skip(skip).Take(50).ToList(), Read(order.Walk(skip, reverse: false).Take(50)));
            Assert.Equal(model.Reverse().Skip(skip).Take(50).ToList(), Read(order.Walk(skip, reverse: true).Take(50)));
            var from = random.Next(-5, 205) + 0.5 * random.Next(2);
            Assert.Equal(model.Where(e => e.Score >= from).Take(50).ToList(),
                Read(order.WalkFromScore(from, reverse: false).Take(50)));
            Assert.Equal(model.Reverse().Where(e => e.Score <= from).Take(50).ToList(),
                Read(order.WalkFromScore(from, reverse: true).Take(50)));
            var (someScore, someMember) = model.ElementAt(skip);
            Assert.Equal(skip, order.RankOf(someScore, Bytes(someMember)));
            Assert.Equal(-1, order.RankOf(someScore + 1000, Bytes(someMember)));
        }
    }

    [Fact]
    public void A_sorted_set_keeps_its_scores_and_its_order_in_step()
    {
        var set = new SortedSetValue();
        for (var i = 0; i < 10_000; i++) Assert.True(set.Set(Bytes($"m{i}"), i % 100));
        for (var i = 0; i < 10_000; i += 2) Assert.False(set.Set(Bytes($"m{i}"), -i));
        Assert.Equal(0, set.Rank(Bytes("m9998"), fromHighest: false));
        Assert.Equal(-9998, set.Score(Bytes("m9998")));
        var (lowest, lowestScore) = set.PopEnd(lowest: true);
        Assert.Equal("m9998", Encoding.UTF8.GetString(lowest));
        Assert.Equal(-9998, lowestScore);
        Assert.Null(set.Score(Bytes("m9998")));
        var (member, score) = set.PopEnd(lowest: false);
        Assert.Equal(99, score);
        Assert.Equal(9_998, set.Count);
        Assert.Equal(set.Ordered.Select(e => e.Score).Order(), set.Ordered.Select(e => e.Score));
        Assert.Null(set.Score(member));
    }
}
