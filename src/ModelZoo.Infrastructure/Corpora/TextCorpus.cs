using System.Text;

namespace ModelZoo.Infrastructure.Corpora;

/// <summary>One document of a text corpus: its source package, a stable id inside it, and the text.</summary>
public sealed record CorpusDocument(string Source, string Id, string Text);

/// <summary>
/// Where a corpus came from, as the model card and manifest state it: the registry and package, the exact version
/// and file, the SHA-256 of the file the registry's client delivered, and the licence as the package's own
/// copyright/licence file states it (<see cref="LicenseSource"/> names that file).
/// </summary>
public sealed record CorpusSource(
    string Name, string Registry, string Package, string Version, string FileName, string Sha256,
    string License, string LicenseSource, string Content, int Documents, long Characters);

public sealed record TextCorpus(CorpusSource Source, IReadOnlyList<CorpusDocument> Documents)
{
    public static TextCorpus Of(CorpusSource source, IReadOnlyList<CorpusDocument> docs) =>
        new(source with { Documents = docs.Count, Characters = docs.Sum(d => (long)d.Text.Length) }, docs);
}

/// <summary>
/// The held-out split of a corpus is by document and by a hash of its source and id (FNV-1a 64), not by position:
/// a document is held out or not whatever else the corpus holds, so adding a source never moves another's split.
/// </summary>
public static class HeldOutSplit
{
    public static bool IsHeldOut(CorpusDocument d, int oneIn)
    {
        if (oneIn < 2) throw new ArgumentOutOfRangeException(nameof(oneIn), "hold out one document in at least 2.");
        ulong h = 14695981039346656037UL;
        foreach (var b in Encoding.UTF8.GetBytes(d.Source + "\n" + d.Id)) { h ^= b; h *= 1099511628211UL; }
        return h % (ulong)oneIn == 0;
    }
}
