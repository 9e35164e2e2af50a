using System.Globalization;
using System.Text;
using ModelZoo.Core.Datasets;
using SkiaSharp;

namespace ModelZoo.Infrastructure.Datasets;

/// <summary>One font file taken out of a package: the package it came from, its path there, its bytes.</summary>
public sealed record FontFile(string Package, string Path, byte[] Data);

/// <summary>A package's provenance for the glyphs dataset: version, .deb file, SHA-256 and its licence line.</summary>
public sealed record GlyphPackage(string Package, string Version, string File, string Sha256, string License);

/// <summary>What <see cref="GlyphsDataset.Render"/> made: images, labels, the family of each image and the counts.</summary>
public sealed class GlyphRendering
{
    public required byte[] Pixels { get; init; }
    public required int[] Labels { get; init; }
    public required string[] FamilyOfImage { get; init; }
    public required int Faces { get; init; }
    /// <summary>Faces dropped because another file already gave the same family and style (e.g. a .ttf and an .otf of one face).</summary>
    public required int DuplicateFaces { get; init; }
    /// <summary>Faces of <see cref="GlyphsDataset.ExcludedFamilies"/> (symbols, dingbats).</summary>
    public int ExcludedFaces { get; init; }
    /// <summary>Files SkiaSharp could not read as a face.</summary>
    public required int UnreadableFiles { get; init; }
    /// <summary>(face, class) pairs skipped because the face has no glyph for the character, or an empty one.</summary>
    public required int SkippedGlyphs { get; init; }
}

/// <summary>Which families went to which split.</summary>
public sealed record FamilySplit(IReadOnlyList<string> Train, IReadOnlyList<string> Validation, IReadOnlyList<string> Test);

/// <summary>
/// Glyphs: the 62 characters 0-9, A-Z, a-z rendered with SkiaSharp from the .ttf/.otf faces of a fixed list of
/// Debian font packages, fetched with <c>apt-get download</c> and read out of the .debs without installing them.
/// Each glyph is drawn as its outline, white on black (as MNIST, which it is meant to transfer to), centred on its
/// own bounds and scaled so its larger side fills <see cref="Fill"/> of a <see cref="Side"/>x<see cref="Side"/> grey
/// canvas, antialiased. The split is by font family (<see cref="SKTypeface.FamilyName"/>), with clones of one design
/// (<see cref="DesignOf"/>) kept together: the designs are shuffled with a seed and about 70/15/15 % of them go to
/// train/validation/test, so no test family is ever seen in training. Faces that lack a character are skipped for
/// that class and counted; symbol and dingbat faces are left out.
/// </summary>
public static class GlyphsDataset
{
    public const string Id = "glyphs";
    public const int Side = 32;
    /// <summary>The glyph's larger side spans this fraction of the canvas (MNIST digits span about 20 of 28 px).</summary>
    public const float Fill = 0.75f;
    public const int SplitSeed = 20261123;
    public const string Characters = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    /// <summary>
    /// The packages, about 24.4 MB of .debs in Debian 12: sans, serif and mono text faces (DejaVu, Liberation,
    /// FreeFont), the URW clones of the 35 PostScript faces and the TeX Gyre families (many styles per family), and
    /// two handwriting-style packages (bwht, dkg-handwriting) so the set is not only print. fonts-lmodern (4.5 MB,
    /// more Computer Modern styles) was left out to keep the download under 30 MB. Measured with Debian 12's versions:
    /// 106 faces of 34 families (17 designs), 6,572 glyphs, none missing; fonts-texgyre keeps its .otf files under
    /// usr/share/texmf/fonts.
    /// </summary>
    public static readonly IReadOnlyList<string> Packages =
    [
        "fonts-dejavu-core", "fonts-liberation2", "fonts-freefont-ttf", "fonts-urw-base35", "fonts-texgyre",
        "fonts-bwht", "fonts-dkg-handwriting",
    ];

    /// <summary>
    /// Symbol and dingbat faces: their cmaps give pictures or Greek for 0-9A-Za-z, so they are left out (counted).
    /// </summary>
    public static readonly IReadOnlySet<string> ExcludedFamilies = new HashSet<string>(StringComparer.Ordinal)
    {
        "Standard Symbols PS", "D050000L",
    };

    /// <summary>
    /// Families that are clones or close derivatives of one design (TeX Gyre is built from the URW fonts, GNU
    /// FreeFont from them too, Liberation is metric-compatible with Helvetica/Times/Courier). The split keeps each
    /// design together, so a test family never has its twin in training. Families not listed are their own design.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> DesignOf = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["Nimbus Sans"] = "Helvetica", ["Nimbus Sans Narrow"] = "Helvetica", ["TeX Gyre Heros"] = "Helvetica",
        ["TeX Gyre Heros Cn"] = "Helvetica", ["FreeSans"] = "Helvetica", ["Liberation Sans"] = "Helvetica",
        ["Liberation Sans Narrow"] = "Helvetica",
        ["Nimbus Roman"] = "Times", ["TeX Gyre Termes"] = "Times", ["FreeSerif"] = "Times", ["Liberation Serif"] = "Times",
        ["Nimbus Mono PS"] = "Courier", ["TeX Gyre Cursor"] = "Courier", ["FreeMono"] = "Courier", ["Liberation Mono"] = "Courier",
        ["P052"] = "Palatino", ["TeX Gyre Pagella"] = "Palatino",
        ["URW Bookman"] = "Bookman", ["TeX Gyre Bonum"] = "Bookman",
        ["C059"] = "Century Schoolbook", ["TeX Gyre Schola"] = "Century Schoolbook",
        ["URW Gothic"] = "Avant Garde", ["TeX Gyre Adventor"] = "Avant Garde",
        ["Z003"] = "Zapf Chancery", ["TeX Gyre Chorus"] = "Zapf Chancery",
    };

    public static string Design(string family) => DesignOf.TryGetValue(family, out var d) ? d : family;

    public static IReadOnlyList<string> ClassNames { get; } = [.. Characters.Select(c => c.ToString())];

    public static BuiltInDataset Definition { get; } = new()
    {
        Id = Id, Title = "Glyphs 0-9 A-Z a-z (Debian font packages)", Registry = "debian", Package = string.Join(", ", Packages),
        License = "Mixed font licences (OFL-1.1, GPL with font exception, GUST, AGPL-3 with font exception, Bitstream Vera); the fetched dataset lists each package's",
        DownloadSize = "24.4 MB",
        Description = "Digits and letters (62 classes) rendered white on black at 32x32 from the faces of Debian font packages, split by font family.",
        FetchAsync = (ctx, progress, ct) => FetchAsync(ctx.Debian, ctx.Store, progress, ct),
    };

    public static async Task<DatasetInfo> FetchAsync(DebianPackageFetcher apt, DatasetStore store, IProgress<double>? progress, CancellationToken ct) =>
        await FetchAsync(apt, store, Packages, progress, ct);

    /// <summary>Fetches the given packages (the tests pass a smaller list), reads their fonts and builds the dataset.</summary>
    public static async Task<DatasetInfo> FetchAsync(DebianPackageFetcher apt, DatasetStore store, IReadOnlyList<string> packages, IProgress<double>? progress, CancellationToken ct)
    {
        var fonts = new List<FontFile>();
        var provenance = new List<GlyphPackage>();
        for (int i = 0; i < packages.Count; i++)
        {
            var pkg = packages[i];
            double from = 0.6 * i / packages.Count, to = 0.6 * (i + 1) / packages.Count;
            var deb = await apt.FetchAsync(pkg, FashionMnistDataset.Scaled(progress, from, to), ct);
            var copyright = $"usr/share/doc/{pkg}/copyright";
            var files = await DebArchive.ReadFilesAsync(deb.DebPath, n => IsFontPath(n) || n == copyright, ct);
            provenance.Add(new GlyphPackage(pkg, deb.Version, deb.FileName, deb.Sha256,
                files.TryGetValue(copyright, out var c) ? LicenseOf(c) : "unknown (no copyright file in the .deb)"));
            foreach (var (path, data) in files.OrderBy(f => f.Key, StringComparer.Ordinal))
                if (IsFontPath(path)) fonts.Add(new FontFile(pkg, path, data));
        }
        if (fonts.Count == 0) throw new DatasetFetchException($"The packages {string.Join(", ", packages)} hold no .ttf or .otf files.");
        return Build(fonts, provenance, store, FashionMnistDataset.Scaled(progress, 0.6, 1), ct);
    }

    /// <summary>Fonts under usr/share/fonts, and under usr/share/texmf/fonts where fonts-texgyre keeps its .otf files.</summary>
    public static bool IsFontPath(string path) =>
        (path.StartsWith("usr/share/fonts/", StringComparison.Ordinal) || path.StartsWith("usr/share/texmf/fonts/", StringComparison.Ordinal))
        && (path.EndsWith(".ttf", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".otf", StringComparison.OrdinalIgnoreCase));

    /// <summary>The licence of the upstream files: the first License: line after "Files: *", else the first License: line.</summary>
    public static string LicenseOf(byte[] copyright)
    {
        var lines = Encoding.UTF8.GetString(copyright).Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
        string? first = null;
        bool inStar = false;
        foreach (var l in lines)
        {
            if (l.StartsWith("Files:", StringComparison.Ordinal)) inStar = l[6..].Trim() == "*";
            if (!l.StartsWith("License:", StringComparison.Ordinal)) continue;
            var v = l[8..].Trim();
            if (v.Length == 0) continue;
            if (inStar) return v;
            first ??= v;
        }
        return first ?? "unknown (no License: field in debian/copyright)";
    }

    /// <summary>Renders one character of a face, white on black, or null when the face has no (or an empty) glyph for it.</summary>
    public static byte[]? RenderGlyph(SKTypeface face, char c, int side = Side, float fill = Fill)
    {
        using var font = new SKFont(face, 256) { Subpixel = false, Hinting = SKFontHinting.None, Edging = SKFontEdging.Antialias };
        var glyphs = font.GetGlyphs(c.ToString());
        if (glyphs.Length != 1 || glyphs[0] == 0) return null;
        using var path = font.GetGlyphPath(glyphs[0]);
        if (path is null || path.IsEmpty) return null;
        var b = path.TightBounds;
        if (b.Width <= 0 || b.Height <= 0) return null;
        float scale = fill * side / Math.Max(b.Width, b.Height);
        var m = SKMatrix.CreateTranslation(-b.MidX, -b.MidY)
            .PostConcat(SKMatrix.CreateScale(scale, scale))
            .PostConcat(SKMatrix.CreateTranslation(side / 2f, side / 2f));
        path.Transform(m);

        using var bmp = new SKBitmap(new SKImageInfo(side, side, SKColorType.Rgba8888, SKAlphaType.Premul));
        using (var canvas = new SKCanvas(bmp))
        {
            canvas.Clear(SKColors.Black);
            using var paint = new SKPaint { Color = SKColors.White, IsAntialias = true, Style = SKPaintStyle.Fill };
            canvas.DrawPath(path, paint);
        }
        var rgba = bmp.GetPixelSpan();
        var grey = new byte[side * side];
        for (int i = 0; i < grey.Length; i++) grey[i] = rgba[i * 4];
        return grey;
    }

    /// <summary>Reads the faces and renders every class of each; duplicate (family, style) faces are kept once.</summary>
    public static GlyphRendering Render(IReadOnlyList<FontFile> fonts, IProgress<double>? progress, CancellationToken ct) =>
        Render(fonts, Characters, progress, ct);

    /// <summary>As above for the given characters; label k is <paramref name="characters"/>[k].</summary>
    public static GlyphRendering Render(IReadOnlyList<FontFile> fonts, string characters, IProgress<double>? progress, CancellationToken ct)
    {
        var pixels = new List<byte>(fonts.Count * characters.Length * Side * Side);
        var labels = new List<int>();
        var families = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        int faces = 0, duplicates = 0, unreadable = 0, skipped = 0, excluded = 0;
        for (int f = 0; f < fonts.Count; f++)
        {
            ct.ThrowIfCancellationRequested();
            using var data = SKData.CreateCopy(fonts[f].Data);
            using var face = SKTypeface.FromData(data);
            if (face is null || string.IsNullOrWhiteSpace(face.FamilyName)) { unreadable++; continue; }
            var family = face.FamilyName.Trim();
            if (ExcludedFamilies.Contains(family)) { excluded++; continue; }
            var key = $"{family}|{face.FontWeight}|{face.FontWidth}|{face.FontSlant}";
            if (!seen.Add(key)) { duplicates++; continue; }
            faces++;
            for (int k = 0; k < characters.Length; k++)
            {
                var img = RenderGlyph(face, characters[k]);
                if (img is null) { skipped++; continue; }
                pixels.AddRange(img);
                labels.Add(k);
                families.Add(family);
            }
            progress?.Report((f + 1.0) / fonts.Count);
        }
        return new GlyphRendering
        {
            Pixels = [.. pixels], Labels = [.. labels], FamilyOfImage = [.. families],
            Faces = faces, DuplicateFaces = duplicates, ExcludedFaces = excluded, UnreadableFiles = unreadable, SkippedGlyphs = skipped,
        };
    }

    /// <summary>
    /// Groups the families by design (<see cref="Design"/>), sorts the designs ordinally and shuffles them with the
    /// seed. <paramref name="familyOfEachImage"/> names one family per image, so a design weighs as many images as it
    /// has. Going down the shuffled designs, each goes to test while that brings test closer to 15 % of the images,
    /// else to validation while that brings it closer to 15 %, else to train; with three or more designs, test and
    /// validation get at least one and train keeps the last if it has none. Every family goes where its design goes.
    /// </summary>
    public static FamilySplit SplitFamilies(IEnumerable<string> familyOfEachImage, int seed, double validationFraction = 0.15, double testFraction = 0.15)
    {
        var count = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var f in familyOfEachImage) count[f] = count.GetValueOrDefault(f) + 1;
        var weight = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (f, n) in count) weight[Design(f)] = weight.GetValueOrDefault(Design(f)) + n;
        var designs = weight.Keys.Order(StringComparer.Ordinal).ToArray();
        new Random(seed).Shuffle(designs);
        double total = weight.Values.Sum(), tTarget = total * testFraction, vTarget = total * validationFraction, tW = 0, vW = 0;
        var train = new HashSet<string>(StringComparer.Ordinal); var val = new HashSet<string>(StringComparer.Ordinal); var test = new HashSet<string>(StringComparer.Ordinal);
        static bool Closer(double have, double add, double target) => Math.Abs(have + add - target) < Math.Abs(have - target);
        for (int i = 0; i < designs.Length; i++)
        {
            var d = designs[i]; var w = weight[d];
            bool few = designs.Length < 3, last = i == designs.Length - 1;
            if (few || (last && train.Count == 0)) train.Add(d);
            else if (test.Count == 0 || Closer(tW, w, tTarget)) { test.Add(d); tW += w; }
            else if (val.Count == 0 || Closer(vW, w, vTarget)) { val.Add(d); vW += w; }
            else train.Add(d);
        }
        string[] Of(HashSet<string> ds) => [.. count.Keys.Where(f => ds.Contains(Design(f))).Order(StringComparer.Ordinal)];
        return new FamilySplit(Of(train), Of(val), Of(test));
    }

    /// <summary>The image indices of each split, given each image's family.</summary>
    public static SplitIndices Indices(IReadOnlyList<string> familyOfImage, FamilySplit split, int seed)
    {
        var val = split.Validation.ToHashSet(StringComparer.Ordinal);
        var test = split.Test.ToHashSet(StringComparer.Ordinal);
        var tr = new List<int>(); var va = new List<int>(); var te = new List<int>();
        for (int i = 0; i < familyOfImage.Count; i++)
            (test.Contains(familyOfImage[i]) ? te : val.Contains(familyOfImage[i]) ? va : tr).Add(i);
        return new SplitIndices(seed, [.. tr], [.. va], [.. te]);
    }

    /// <summary>
    /// Whether stored facts are those this version builds. Facts written before the augmentation profile was recorded
    /// fall back to the digits' profile (10 degrees of rotation, not the glyphs' 5), so house weights trained on them would
    /// not be what their recorded command makes on a fresh machine; the pretrain command rebuilds such a dataset.
    /// </summary>
    public static bool IsCurrent(DatasetInfo stored) => stored.Id == Id && stored.Augmentation == AugmentationProfile.Glyphs;

    public static DatasetInfo Build(IReadOnlyList<FontFile> fonts, IReadOnlyList<GlyphPackage> packages, DatasetStore store, IProgress<double>? progress, CancellationToken ct)
    {
        var r = Render(fonts, FashionMnistDataset.Scaled(progress, 0, 0.9), ct);
        if (r.Labels.Length == 0) throw new DatasetFetchException($"None of the {fonts.Count} font files gave a glyph.");
        var fam = SplitFamilies(r.FamilyOfImage, SplitSeed);
        var split = Indices(r.FamilyOfImage, fam, SplitSeed);
        var inv = CultureInfo.InvariantCulture;
        static string List(IReadOnlyList<string> xs) => string.Join("; ", xs);
        var info = new DatasetInfo
        {
            Augmentation = AugmentationProfile.Glyphs,
            Id = Id,
            Title = Definition.Title,
            Description = string.Create(inv, $"{r.Labels.Length:N0} glyphs (0-9, A-Z, a-z) from {r.Faces} faces of {fam.Train.Count + fam.Validation.Count + fam.Test.Count} font families, ")
                + string.Create(inv, $"rendered white on black at {Side}x{Side}, centred on the glyph's bounds, larger side {Fill:P0} of the canvas. ")
                + string.Create(inv, $"{r.SkippedGlyphs} (face, character) pairs skipped for a missing glyph; {r.DuplicateFaces} duplicate faces, {r.ExcludedFaces} symbol/dingbat faces ({string.Join(", ", ExcludedFamilies.Order(StringComparer.Ordinal))}) and {r.UnreadableFiles} unreadable files left out."),
            ClassNames = ClassNames,
            Examples = r.Labels.Length,
            Width = Side, Height = Side, Channels = 1,
            License = "Mixed; per package: " + string.Join("; ", packages.Select(p => $"{p.Package}: {p.License}")),
            Provenance = "apt-get download (Debian), not installed; .ttf/.otf under usr/share/fonts read from: "
                + string.Join("; ", packages.Select(p => $"{p.Package} {p.Version} ({p.File} sha256 {p.Sha256})")),
            Source = null,
            Splits = new SplitSizes(split.Train.Length, split.Validation.Length, split.Test.Length),
            SplitSeed = SplitSeed,
            SplitMethod = string.Create(inv, $"By font family, seed {SplitSeed}: families grouped by design (clones such as Nimbus Sans, TeX Gyre Heros, FreeSans and Liberation Sans count as one), designs shuffled and given to test, then validation, each up to about 15 % of the images, the rest to train, so test families and their clones are never seen in training. ")
                + $"Train ({fam.Train.Count}): {List(fam.Train)}. Validation ({fam.Validation.Count}): {List(fam.Validation)}. Test ({fam.Test.Count}): {List(fam.Test)}.",
        };
        info = store.Write(info, new ImageSet { Width = Side, Height = Side, Channels = 1, Pixels = r.Pixels, Labels = r.Labels, ClassNames = ClassNames }, split);
        progress?.Report(1);
        return info;
    }
}
