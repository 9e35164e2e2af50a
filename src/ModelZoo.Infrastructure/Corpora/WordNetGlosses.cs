using System.Text;
using ModelZoo.Infrastructure.Datasets;

namespace ModelZoo.Infrastructure.Corpora;

/// <summary>
/// WordNet 3.0 glosses from Debian's <c>wordnet-base</c> (fetched with apt-get download, never installed): each
/// synset line of <c>usr/share/wordnet/data.{noun,verb,adj,adv}</c> ends in <c>" | "</c> and its gloss (definition
/// and quoted examples). One gloss is one document, id <c>pos:offset</c>.
/// </summary>
public static class WordNetGlosses
{
    public const string Package = "wordnet-base";
    static readonly string[] Parts = ["noun", "verb", "adj", "adv"];
    const string CopyrightPath = "usr/share/doc/wordnet-base/copyright";

    public static async Task<TextCorpus> FetchAsync(DebianPackageFetcher debian, CancellationToken ct)
    {
        var deb = await debian.FetchAsync(Package, null, ct);
        var wanted = Parts.Select(p => $"usr/share/wordnet/data.{p}").Append(CopyrightPath).ToHashSet(StringComparer.Ordinal);
        var files = await DebArchive.ReadFilesAsync(deb.DebPath, wanted.Contains, ct);
        var docs = new List<CorpusDocument>();
        foreach (var part in Parts)
        {
            var path = $"usr/share/wordnet/data.{part}";
            if (!files.TryGetValue(path, out var bytes)) throw new DatasetFetchException($"{deb.FileName}: {path} is missing.");
            docs.AddRange(Parse(Decode(bytes, $"{deb.FileName}:{path}"), part, $"{deb.FileName}:{path}"));
        }
        if (!files.TryGetValue(CopyrightPath, out var copyright)) throw new DatasetFetchException($"{deb.FileName}: {CopyrightPath} is missing.");
        var license = CopyrightLicense.DebianFilesStar(Decode(copyright, CopyrightPath))
            ?? throw new DatasetFetchException($"{deb.FileName}: {CopyrightPath} names no licence for 'Files: *'.");
        var source = new CorpusSource("WordNet 3.0 glosses", "debian", Package, deb.Version, deb.FileName, deb.Sha256,
            license, $"{CopyrightPath} in {deb.FileName} (stanza 'Files: *': Princeton's WordNet 3.0 licence, a permissive licence that requires its copyright notice on all copies)",
            "glosses (definitions and examples) of every synset in data.noun, data.verb, data.adj, data.adv", 0, 0);
        return TextCorpus.Of(source, docs);
    }

    /// <summary>Lines starting with a space are the licence header; every other line must carry a " | " gloss.</summary>
    public static IEnumerable<CorpusDocument> Parse(string text, string part, string fileName)
    {
        int lineNo = 0;
        foreach (var line in text.Split('\n'))
        {
            lineNo++;
            if (line.Length == 0 || line[0] == ' ') continue;
            var bar = line.IndexOf(" | ", StringComparison.Ordinal);
            if (bar < 0) throw new DatasetFetchException($"{fileName}: line {lineNo} has no ' | ' gloss separator.");
            var offset = line[..Math.Max(0, line.IndexOf(' '))];
            if (offset.Length == 0 || !offset.All(char.IsAsciiDigit)) throw new DatasetFetchException($"{fileName}: line {lineNo} does not start with a synset offset.");
            var gloss = line[(bar + 3)..].Trim();
            if (gloss.Length > 0) yield return new CorpusDocument(Package, $"{part}:{offset}", gloss);
        }
    }

    internal static string Decode(byte[] bytes, string name)
    {
        try { return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes); }
        catch (DecoderFallbackException e) { throw new DatasetFetchException($"{name} is not valid UTF-8: {e.Message}", e); }
    }
}

/// <summary>Reads the licence of a machine-readable debian/copyright (DEP-5) file's <c>Files: *</c> stanza.</summary>
public static class CopyrightLicense
{
    public static string? DebianFilesStar(string copyright)
    {
        foreach (var stanza in copyright.Replace("\r\n", "\n").Split("\n\n"))
        {
            var lines = stanza.Split('\n');
            if (!lines.Any(l => l.Trim() == "Files: *")) continue;
            var lic = lines.FirstOrDefault(l => l.StartsWith("License:", StringComparison.Ordinal));
            return lic?["License:".Length..].Trim();
        }
        return null;
    }
}
