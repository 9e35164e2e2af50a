using System.Text;
using ModelZoo.Infrastructure.Datasets;

namespace ModelZoo.Infrastructure.Corpora;

/// <summary>
/// WordNet 3.0 glosses from Debian's <c>wordnet-base</c> (fetched with apt-get download, never installed), parsed by
/// the same strict reader as the WordNet supersenses dataset (<see cref="WordNetDataFiles"/>). One gloss (definition
/// and quoted examples) is one document, id <c>part:offset</c> (e.g. <c>noun:00001740</c>), in the data files' order.
/// </summary>
public static class WordNetGlosses
{
    public const string Package = WordNetDataFiles.Package;
    const string CopyrightPath = "usr/share/doc/wordnet-base/copyright";

    public static async Task<TextCorpus> FetchAsync(DebianPackageFetcher debian, CancellationToken ct)
    {
        var wordnet = await WordNetDataFiles.FetchAsync(debian, null, ct);
        var deb = wordnet.Deb;
        var files = await DebArchive.ReadFilesAsync(deb.DebPath, p => p == CopyrightPath, ct);
        if (!files.TryGetValue(CopyrightPath, out var copyright)) throw new DatasetFetchException($"{deb.FileName}: {CopyrightPath} is missing.");
        var license = CopyrightLicense.DebianFilesStar(Decode(copyright, CopyrightPath))
            ?? throw new DatasetFetchException($"{deb.FileName}: {CopyrightPath} names no licence for 'Files: *'.");
        var docs = WordNetDataFiles.DataFiles.SelectMany(f => Documents(f["data.".Length..], wordnet.Synsets[f])).ToList();
        var source = new CorpusSource("WordNet 3.0 glosses", "debian", Package, deb.Version, deb.FileName, deb.Sha256,
            license, $"{CopyrightPath} in {deb.FileName} (stanza 'Files: *': Princeton's WordNet 3.0 licence, a permissive licence that requires its copyright notice on all copies)",
            "glosses (definitions and examples) of every synset in data.noun, data.verb, data.adj, data.adv", 0, 0);
        return TextCorpus.Of(source, docs);
    }

    /// <summary>The glosses of one data file's synsets (<paramref name="part"/>: noun, verb, adj, adv); a synset
    /// without a gloss gives no document.</summary>
    public static IEnumerable<CorpusDocument> Documents(string part, IEnumerable<WordNetSynset> synsets) =>
        synsets.Where(s => s.Gloss.Length > 0)
            .Select(s => new CorpusDocument(Package, $"{part}:{s.Offset.ToString("D8", System.Globalization.CultureInfo.InvariantCulture)}", s.Gloss));

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
