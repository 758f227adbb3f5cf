// src/resp/RedisGlob.cs: the patterns of Redis's KEYS, matched as Redis's stringmatchlen matches them: on bytes,
// `*` any run, `?` any one byte, `[abc]` `[^a]` `[a-z]` a set, `\` makes the next byte literal.
//
// A pattern is compiled once into its elements, each a star or a set of the bytes it accepts (a literal is a
// set of one), so that matching a key costs at most its length times the pattern's, with no step that reads
// the pattern again: a pattern built to be slow (`*[` and a long unclosed set) costs what any other does. Before
// that walk, what every match needs is checked in a few steps (the fewest bytes, the elements before the first
// star and after the last, the bytes its literals need): a publish to thousands of patterns built to be slow
// (`*`, a hundred `?`, a literal of their own) rejects each one there.

namespace KV;

public sealed class RedisGlob
{
    /// <summary>
    /// The longest pattern KEYS takes: a key is at most 1,024 bytes, and no pattern needs to be much longer.
    /// </summary>
    public const int MaxPatternBytes = 1024;

    // Element i is elements[i]: a byte (0-255), the literal it accepts; Star; Any (`?`); or FirstSet + k, the set of
    // bytes it accepts in sets[4k..4k+3] (256 bits), kept only for a `[...]` of more than one byte. A pattern is held
    // in four bytes an element (a publish may meet a hundred thousand patterns, each an object the collector keeps).
    private const int Star = 256, Any = 257, FirstSet = 258;
    private readonly int[] elements;
    private readonly ulong[]? sets;

    // What every match needs: at least `fewest` bytes (exactly that many without a star); the `head` elements
    // before the first star match the text's first bytes, the `tail` ones after the last star its last bytes; every
    // byte in `needed` (a literal's) is in the text.
    private readonly int fewest, head, tail;
    private readonly bool anyStar;
    private readonly Bits256 needed;

    [System.Runtime.CompilerServices.InlineArray(4)]
    private struct Bits256
    {
        private ulong word;
    }

    private RedisGlob(int[] elements, ulong[]? sets)
    {
        this.elements = elements;
        this.sets = sets;
        fewest = elements.Count(element => element != Star);
        anyStar = fewest < elements.Length;
        head = anyStar ? Array.IndexOf(elements, Star) : elements.Length;
        tail = anyStar ? elements.Length - 1 - Array.LastIndexOf(elements, Star) : 0;
        foreach (var element in elements)
            if (element < Star) Add(needed, element);
    }

    /// <summary>
    /// What a compiled pattern holds at most, for a budget that counts it before it is compiled: the object and its
    /// arrays, an element for each byte, and 256 bits for each `[`.
    /// </summary>
    public static long MostBytes(ReadOnlySpan<byte> pattern) =>
        128 + 4L * pattern.Length + 32L * pattern.Count((byte)'[');

    /// <summary>The bytes a text holds, for Matches: found once when one text meets many patterns (a publish).
    /// </summary>
    public static void Present(ReadOnlySpan<byte> text, Span<ulong> present)
    {
        foreach (var c in text) Add(present, c);
    }

    public static bool Matches(ReadOnlySpan<byte> pattern, ReadOnlySpan<byte> text) => Compile(pattern).Matches(text);

    public static RedisGlob Compile(ReadOnlySpan<byte> pattern)
    {
        // Never more elements than bytes.
        var elements = new int[pattern.Length];
        var count = 0;
        List<ulong>? sets = null;
        Span<ulong> set = stackalloc ulong[4];
        for (var p = 0; p < pattern.Length;)
        {
            int element;
            switch (pattern[p])
            {
                case (byte)'*':
                    element = Star;
                    // A run of stars is one star.
                    while (p < pattern.Length && pattern[p] == (byte)'*') p++;
                    break;
                case (byte)'?':
                    element = Any;
                    p++;
                    break;
                case (byte)'[':
                    set.Clear();
                    p = CompileSet(pattern, p, set);
                    element = Single(set);
                    if (element < 0)
                    {
                        sets ??= [];
                        element = FirstSet + sets.Count / 4;
                        foreach (var word in set) sets.Add(word);
                    }
                    break;
                case (byte)'\\' when p + 1 < pattern.Length:
                    element = pattern[p + 1];
                    p += 2;
                    break;
                default:
                    element = pattern[p];
                    p++;
                    break;
            }
            elements[count++] = element;
        }
        return new RedisGlob(count == elements.Length ? elements : elements[..count], sets?.ToArray());
    }

    /// <summary>The one byte a set accepts, when it accepts exactly one; else -1.</summary>
    private static int Single(ReadOnlySpan<ulong> set)
    {
        var bytes = 0;
        foreach (var word in set) bytes += System.Numerics.BitOperations.PopCount(word);
        if (bytes != 1) return -1;
        for (var w = 0; ; w++)
            if (set[w] != 0) return 64 * w + System.Numerics.BitOperations.TrailingZeroCount(set[w]);
    }

    /// <summary>
    /// `[...]`, `[^...]`, with ranges and `\` escapes; an unclosed set ends at the end of the pattern, as in Redis.
    /// </summary>
    private static int CompileSet(ReadOnlySpan<byte> pattern, int p, Span<ulong> set)
    {
        var i = p + 1;
        var negate = i < pattern.Length && pattern[i] == (byte)'^';
        if (negate) i++;
        while (i < pattern.Length && pattern[i] != (byte)']')
        {
            if (pattern[i] == (byte)'\\' && i + 1 < pattern.Length)
            {
                Add(set, pattern[i + 1]);
                i += 2;
            }
            else if (i + 2 < pattern.Length && pattern[i + 1] == (byte)'-' && pattern[i + 2] != (byte)']')
            {
                var (low, high) = pattern[i] <= pattern[i + 2] ? (pattern[i], pattern[i + 2]) : (pattern[i + 2],
                    pattern[i]);
                for (int c = low; c <= high; c++) Add(set, c);
                i += 3;
            }
            else
            {
                Add(set, pattern[i]);
                i++;
            }
        }
        if (negate)
            for (var w = 0; w < 4; w++) set[w] = ~set[w];
        return Math.Min(i + 1, pattern.Length);
    }

    private static void Add(Span<ulong> set, int c) => set[c >> 6] |= 1UL << (c & 63);

    private bool Accepts(int element, byte c) => elements[element] switch
    {
        < Star and var literal => literal == c,
        Any => true,
        Star => false,
        var inSet => (sets![4 * (inSet - FirstSet) + (c >> 6)] & (1UL << (c & 63))) != 0,
    };

    public bool Matches(ReadOnlySpan<byte> text) => Matches(text, ReadOnlySpan<ulong>.Empty);

    /// <summary>Whether the text matches; `present` (from Present, or empty) adds the check of the literals' bytes.
    /// </summary>
    public bool Matches(ReadOnlySpan<byte> text, ReadOnlySpan<ulong> present)
    {
        if (text.Length < fewest || (!anyStar && text.Length != fewest)) return false;
        for (var e = 0; e < head; e++) if (!Accepts(e, text[e])) return false;
        for (var e = 1; e <= tail; e++) if (!Accepts(elements.Length - e, text[^e])) return false;
        if (!present.IsEmpty)
            for (var w = 0; w < 4; w++) if ((needed[w] & ~present[w]) != 0) return false;
        return Walk(text);
    }

    /// <summary>The match itself, element by element, with none of the checks before it.</summary>
    internal bool Walk(ReadOnlySpan<byte> text)
    {
        // Greedy with one backtrack point, the last star and where its run of text began: every other element
        // takes exactly one byte, so retrying from the last star is enough.
        int p = 0, t = 0, star = -1, starText = 0;
        while (t < text.Length)
        {
            if (p < elements.Length && elements[p] == Star)
            {
                star = p++;
                starText = t;
                continue;
            }
            if (p < elements.Length && Accepts(p, text[t]))
            {
                p++;
                t++;
                continue;
            }
            if (star < 0) return false;
            p = star + 1;
            t = ++starText;
        }
        while (p < elements.Length && elements[p] == Star) p++;
        return p == elements.Length;
    }
}
