using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace ModelZoo.Infrastructure.Datasets;

/// <summary>One synset of a WordNet data file: its byte offset (the synset's id within its file), the number of its
/// lexicographer file (its supersense, 0..44), the synset type (n, v, a, s, r), its words and its gloss.</summary>
public sealed record WordNetSynset(long Offset, int LexFile, char SsType, IReadOnlyList<string> Words, string Gloss);

/// <summary>WordNet as the Debian package <c>wordnet-base</c> ships it: the four data files and the names of the
/// lexicographer files, read from the .deb without installing it.</summary>
public sealed record WordNetPackage(FetchedDeb Deb, IReadOnlyList<string> LexNames, IReadOnlyDictionary<string, IReadOnlyList<WordNetSynset>> Synsets)
{
    public IEnumerable<WordNetSynset> All => WordNetDataFiles.DataFiles.SelectMany(f => Synsets[f]);
}

/// <summary>
/// Parser for WordNet 3.0's database files (format in <c>wndb(5WN)</c>). A data-file line is
/// <c>synset_offset lex_filenum ss_type w_cnt word lex_id [word lex_id...] p_cnt [ptr...] [frames...] | gloss</c>:
/// w_cnt is two hex digits, p_cnt three decimal digits, each pointer four fields, and verbs add
/// <c>f_cnt + f_num w_num ...</c>. Lines that start with two spaces are the licence header. Every field is checked,
/// so a damaged file is refused with its name and line number instead of yielding shifted glosses. The names of the
/// 45 lexicographer files come from the table in the package's own <c>lexnames(5WN)</c> manual page (the
/// <c>lexnames</c> file itself is not in <c>wordnet-base</c>).
/// Kept apart from the dataset builder because pretraining corpora reuse the glosses.
/// </summary>
public static class WordNetDataFiles
{
    public const string Package = "wordnet-base";
    public const string DataDir = "usr/share/wordnet/";
    public const string LexNamesManPage = "usr/share/man/man5/lexnames.5WN.gz";
    /// <summary>The data files in the order the dataset stores them.</summary>
    public static IReadOnlyList<string> DataFiles { get; } = ["data.noun", "data.verb", "data.adj", "data.adv"];

    /// <summary>Fetches <c>wordnet-base</c> with <c>apt-get download</c> (cached by its signed SHA-256) and parses it.</summary>
    public static async Task<WordNetPackage> FetchAsync(DebianPackageFetcher apt, IProgress<double>? progress, CancellationToken ct)
    {
        var deb = await apt.FetchAsync(Package, progress, ct);
        return await ReadAsync(deb, ct);
    }

    /// <summary>Reads the data files and the lexicographer names out of a fetched <c>wordnet-base</c> .deb.</summary>
    public static async Task<WordNetPackage> ReadAsync(FetchedDeb deb, CancellationToken ct)
    {
        var wanted = DataFiles.Select(f => DataDir + f).Append(LexNamesManPage).ToHashSet(StringComparer.Ordinal);
        var files = await DebArchive.ReadFilesAsync(deb.DebPath, wanted.Contains, ct);
        foreach (var w in wanted)
            if (!files.ContainsKey(w)) throw new DatasetFetchException($"{deb.FileName} holds no {w}.");
        var lexNames = ParseLexNames(Gunzip(files[LexNamesManPage], LexNamesManPage), LexNamesManPage);
        var synsets = new Dictionary<string, IReadOnlyList<WordNetSynset>>(StringComparer.Ordinal);
        foreach (var f in DataFiles)
        {
            ct.ThrowIfCancellationRequested();
            synsets[f] = Parse(f, Utf8(files[DataDir + f], f), lexNames.Count);
        }
        return new WordNetPackage(deb, lexNames, synsets);
    }

    /// <summary>Parses one data file's text; <paramref name="lexFileCount"/> bounds the lexicographer numbers.</summary>
    public static List<WordNetSynset> Parse(string fileName, string text, int lexFileCount = 45)
    {
        var result = new List<WordNetSynset>();
        int lineNo = 0;
        foreach (var raw in text.Split('\n'))
        {
            lineNo++;
            var line = raw.TrimEnd('\r');
            if (line.Length == 0 || line.StartsWith("  ", StringComparison.Ordinal)) continue;
            result.Add(ParseLine(line, fileName, lineNo, lexFileCount));
        }
        if (result.Count == 0) throw new DatasetFetchException($"{fileName} holds no synsets.");
        return result;
    }

    static WordNetSynset ParseLine(string line, string file, int lineNo, int lexFileCount)
    {
        DatasetFetchException Bad(string why) => new($"{file} line {lineNo}: {why}");
        int bar = line.IndexOf(" | ", StringComparison.Ordinal);
        // A synset without a gloss ends its fields with " |" (none in WordNet 3.0, but the format allows it).
        var head = bar >= 0 ? line[..bar] : line.EndsWith(" |", StringComparison.Ordinal) ? line[..^2] : throw Bad("no ' | ' before the gloss");
        var gloss = bar >= 0 ? line[(bar + 3)..].Trim() : "";
        var f = head.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        int i = 0;
        string Next(string what) => i < f.Length ? f[i++] : throw Bad($"the line ends before its {what}");

        var offsetText = Next("synset offset");
        if (offsetText.Length != 8 || !long.TryParse(offsetText, NumberStyles.None, CultureInfo.InvariantCulture, out var offset))
            throw Bad($"'{offsetText}' is not an 8-digit synset offset");
        var lexText = Next("lexicographer file number");
        if (lexText.Length != 2 || !int.TryParse(lexText, NumberStyles.None, CultureInfo.InvariantCulture, out var lex) || lex >= lexFileCount)
            throw Bad($"'{lexText}' is not a lexicographer file number (00..{lexFileCount - 1:00})");
        var ss = Next("synset type");
        if (ss.Length != 1 || "nvasr".IndexOf(ss[0]) < 0) throw Bad($"'{ss}' is not a synset type (n, v, a, s, r)");
        var wCntText = Next("word count");
        if (!int.TryParse(wCntText, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var wCnt) || wCnt < 1)
            throw Bad($"'{wCntText}' is not a word count (two hex digits, at least 01)");
        var words = new List<string>(wCnt);
        for (int w = 0; w < wCnt; w++)
        {
            words.Add(Next($"word {w + 1} of {wCnt}"));
            var lexId = Next($"lex_id of word {w + 1}");
            if (!int.TryParse(lexId, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out _)) throw Bad($"'{lexId}' is not a lex_id");
        }
        var pCntText = Next("pointer count");
        if (pCntText.Length != 3 || !int.TryParse(pCntText, NumberStyles.None, CultureInfo.InvariantCulture, out var pCnt))
            throw Bad($"'{pCntText}' is not a 3-digit pointer count");
        for (int p = 0; p < pCnt; p++)
        {
            Next($"pointer {p + 1} of {pCnt}");
            var target = Next($"target of pointer {p + 1}");
            if (target.Length != 8 || !target.All(char.IsAsciiDigit)) throw Bad($"pointer {p + 1} names '{target}', not an 8-digit offset");
            Next($"part of speech of pointer {p + 1}");
            Next($"source/target of pointer {p + 1}");
        }
        if (ss[0] == 'v')
        {
            var fCntText = Next("verb frame count");
            if (!int.TryParse(fCntText, NumberStyles.None, CultureInfo.InvariantCulture, out var fCnt)) throw Bad($"'{fCntText}' is not a verb frame count");
            for (int fr = 0; fr < fCnt; fr++)
            {
                if (Next($"frame {fr + 1}") != "+") throw Bad($"frame {fr + 1} does not start with '+'");
                Next($"number of frame {fr + 1}");
                Next($"word number of frame {fr + 1}");
            }
        }
        if (i != f.Length) throw Bad($"{f.Length - i} unexpected fields before the gloss ('{f[i]}' ...)");
        // Words are written with underscores for spaces; adjectives may carry a marker such as "(p)".
        return new WordNetSynset(offset, lex, ss[0], words.Select(w => w.Replace('_', ' ')).ToList(), gloss);
    }

    /// <summary>The lexicographer file names, by number, from the tab-separated table in <c>lexnames(5WN)</c>.</summary>
    public static IReadOnlyList<string> ParseLexNames(string manPage, string fileName)
    {
        var names = new SortedDictionary<int, string>();
        foreach (var raw in manPage.Split('\n'))
        {
            var cells = raw.TrimEnd('\r').Split('\t');
            if (cells.Length < 2 || cells[0].Length != 2 || !int.TryParse(cells[0], NumberStyles.None, CultureInfo.InvariantCulture, out var n)) continue;
            var name = cells[1].Trim();
            if (name.Length == 0 || !names.TryAdd(n, name)) throw new DatasetFetchException($"{fileName}: lexicographer file {n:00} is listed twice or without a name.");
        }
        if (names.Count == 0) throw new DatasetFetchException($"{fileName} lists no lexicographer files.");
        if (names.Keys.Last() != names.Count - 1)
            throw new DatasetFetchException($"{fileName}: the lexicographer files are not numbered 00..{names.Count - 1:00} without gaps.");
        return names.Values.ToList();
    }

    static string Gunzip(byte[] gz, string name)
    {
        try
        {
            using var s = new GZipStream(new MemoryStream(gz), CompressionMode.Decompress);
            using var r = new StreamReader(s, new UTF8Encoding(false, throwOnInvalidBytes: true));
            return r.ReadToEnd();
        }
        catch (InvalidDataException e) { throw new DatasetFetchException($"{name} is not valid gzip: {e.Message}", e); }
        catch (DecoderFallbackException e) { throw new DatasetFetchException($"{name} is not UTF-8 text: {e.Message}", e); }
    }

    static string Utf8(byte[] bytes, string name)
    {
        try { return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes); }
        catch (DecoderFallbackException e) { throw new DatasetFetchException($"{name} is not UTF-8 text at byte {e.Index}: {e.Message}", e); }
    }
}
