using ModelZoo.Core.Datasets;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Infrastructure.Storage;
using SkiaSharp;

namespace ModelZoo.Infrastructure.Tests.Datasets;

/// <summary>
/// The glyphs dataset without network: rendering, the family split and the build, on the DejaVu faces installed on
/// this machine (Debian fonts-dejavu-core; .ci/run installs it when missing) and a .deb built with dpkg-deb.
/// </summary>
public class GlyphsDatasetTests : IDisposable
{
    const string DejaVuDir = "/usr/share/fonts/truetype/dejavu";
    readonly string _dir = Directory.CreateTempSubdirectory("mz-glyphs-").FullName;

    static byte[] DejaVu(string name)
    {
        var path = Path.Combine(DejaVuDir, name);
        File.Exists(path).ShouldBeTrue($"{path} is missing: install the Debian package fonts-dejavu-core");
        return File.ReadAllBytes(path);
    }

    static SKTypeface Face(byte[] bytes)
    {
        using var data = SKData.CreateCopy(bytes);
        return SKTypeface.FromData(data);
    }

    [Fact]
    public void Rendering_IsDeterministic_ForTheSameFontBytes_WhiteOnBlack_AndCentred()
    {
        var bytes = DejaVu("DejaVuSans.ttf");
        using var a = Face(bytes);
        using var b = Face(bytes.ToArray());
        foreach (var c in GlyphsDataset.Characters)
        {
            var x = GlyphsDataset.RenderGlyph(a, c);
            var y = GlyphsDataset.RenderGlyph(b, c);
            x.ShouldNotBeNull($"DejaVu Sans has '{c}'");
            x.ShouldBe(y!, $"'{c}' renders the same twice");
            x.Length.ShouldBe(GlyphsDataset.Side * GlyphsDataset.Side);
        }

        var o = GlyphsDataset.RenderGlyph(a, 'O')!;
        o.Max().ShouldBe((byte)255, "the ink is white");
        o[0].ShouldBe((byte)0, "the background is black");
        // Centred: the ink's bounding box is centred on the canvas within a pixel, and its larger side is Fill of it.
        int s = GlyphsDataset.Side, minX = s, maxX = -1, minY = s, maxY = -1;
        for (int yy = 0; yy < s; yy++)
            for (int xx = 0; xx < s; xx++)
                if (o[yy * s + xx] > 0) { minX = Math.Min(minX, xx); maxX = Math.Max(maxX, xx); minY = Math.Min(minY, yy); maxY = Math.Max(maxY, yy); }
        ((minX + maxX + 1) / 2.0).ShouldBe(s / 2.0, 1.0);
        ((minY + maxY + 1) / 2.0).ShouldBe(s / 2.0, 1.0);
        ((double)Math.Max(maxX - minX + 1, maxY - minY + 1)).ShouldBe(GlyphsDataset.Fill * s, 2.0);
    }

    [Fact]
    public void AFaceMissingAGlyph_IsSkippedForThatClass_AndCounted()
    {
        // U+E000 is a private-use code point that DejaVu Sans does not map; 'A' it has.
        var fonts = new[] { new FontFile("fonts-dejavu-core", "usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", DejaVu("DejaVuSans.ttf")) };
        using (var face = Face(fonts[0].Data)) GlyphsDataset.RenderGlyph(face, '\uE000').ShouldBeNull();

        var r = GlyphsDataset.Render(fonts, "A\uE000", null, CancellationToken.None);

        r.Faces.ShouldBe(1);
        r.SkippedGlyphs.ShouldBe(1);
        r.Labels.ShouldBe([0]);
        r.FamilyOfImage.ShouldBe(["DejaVu Sans"]);
        r.Pixels.Length.ShouldBe(GlyphsDataset.Side * GlyphsDataset.Side);
    }

    [Fact]
    public void FamilySplit_NeverPutsAFamilyInTwoSplits_IsSeeded_AndAbout70_15_15()
    {
        var families = Enumerable.Range(0, 95).Select(i => $"Family {i:D2}").ToList();
        var s = GlyphsDataset.SplitFamilies(families.Concat(families), 7);

        s.Train.Intersect(s.Validation).ShouldBeEmpty();
        s.Train.Intersect(s.Test).ShouldBeEmpty();
        s.Validation.Intersect(s.Test).ShouldBeEmpty();
        s.Train.Concat(s.Validation).Concat(s.Test).Order().ShouldBe(families.Order());
        s.Test.Count.ShouldBe(14);
        s.Validation.Count.ShouldBe(14);
        s.Train.Count.ShouldBe(67);

        var again = GlyphsDataset.SplitFamilies(Enumerable.Reverse(families), 7);
        again.ShouldBeEquivalentTo(s, "the input order does not matter, only the seed");
        GlyphsDataset.SplitFamilies(families, 8).Test.ShouldNotBe(s.Test);

        GlyphsDataset.SplitFamilies(["a", "b", "c"], 1).ShouldSatisfyAllConditions(
            x => x.Train.Count.ShouldBe(1), x => x.Validation.Count.ShouldBe(1), x => x.Test.Count.ShouldBe(1));
    }

    [Fact]
    public void FamilySplit_KeepsClonesOfOneDesignTogether()
    {
        var clones = new[] { "Nimbus Sans", "TeX Gyre Heros", "FreeSans", "Liberation Sans", "Nimbus Roman", "TeX Gyre Termes", "FreeSerif" };
        var families = clones.Concat(Enumerable.Range(0, 20).Select(i => $"Other {i}")).ToList();
        for (int seed = 0; seed < 20; seed++)
        {
            var s = GlyphsDataset.SplitFamilies(families, seed);
            var splitOf = (string f) => s.Train.Contains(f) ? 0 : s.Validation.Contains(f) ? 1 : s.Test.Contains(f) ? 2 : -1;
            clones[..4].Select(splitOf).Distinct().Count().ShouldBe(1, $"Helvetica clones together (seed {seed})");
            clones[4..].Select(splitOf).Distinct().Count().ShouldBe(1, $"Times clones together (seed {seed})");
            families.ShouldAllBe(f => splitOf(f) >= 0);
        }
    }

    [Fact]
    public async Task Build_FromADeb_StoresFamilyDisjointSplits_WithLicenceAndFamiliesInTheFacts()
    {
        // A real .deb with DejaVu faces of three families (two Sans faces: Book and Bold) and a copyright file.
        var files = new Dictionary<string, byte[]>
        {
            ["usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"] = DejaVu("DejaVuSans.ttf"),
            ["usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"] = DejaVu("DejaVuSans-Bold.ttf"),
            ["usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"] = DejaVu("DejaVuSerif.ttf"),
            ["usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"] = DejaVu("DejaVuSansMono.ttf"),
            ["usr/share/fonts/truetype/dejavu/copy-of-sans.ttf"] = DejaVu("DejaVuSans.ttf"),
            ["usr/share/doc/fonts-test/copyright"] = "Format: x\n\nFiles: debian/*\nLicense: GPL-2+\n\nFiles: *\nCopyright: someone\nLicense: bitstream-vera\n"u8.ToArray(),
        };
        var deb = DebFixtures.Build(_dir, "fonts-test", files);
        var read = await DebArchive.ReadFilesAsync(deb, n => GlyphsDataset.IsFontPath(n) || n.EndsWith("/copyright"), CancellationToken.None);
        var fonts = read.Where(f => GlyphsDataset.IsFontPath(f.Key)).OrderBy(f => f.Key, StringComparer.Ordinal)
            .Select(f => new FontFile("fonts-test", f.Key, f.Value)).ToList();
        fonts.Count.ShouldBe(5);
        var licence = GlyphsDataset.LicenseOf(read["usr/share/doc/fonts-test/copyright"]);
        licence.ShouldBe("bitstream-vera");

        var paths = new ZooPaths(new StorageOptions { DataDir = Path.Combine(_dir, "data") }, _dir);
        var store = new DatasetStore(paths);
        var progress = new List<double>();
        var info = GlyphsDataset.Build(fonts, [new GlyphPackage("fonts-test", "1.0-test1", Path.GetFileName(deb), new string('a', 64), licence)],
            store, new SyncProgress(progress.Add), CancellationToken.None);

        info.Examples.ShouldBe(4 * 62, "four distinct faces with every class; the copy of DejaVu Sans is a duplicate");
        info.Description.ShouldContain("1 duplicate faces");
        info.ClassNames.Count.ShouldBe(62);
        info.License.ShouldContain("fonts-test: bitstream-vera");
        info.Provenance.ShouldContain("fonts-test 1.0-test1");
        (info.Splits.Train + info.Splits.Validation + info.Splits.Test).ShouldBe(info.Examples);
        info.Splits.Test.ShouldBeGreaterThan(0);
        info.Splits.Validation.ShouldBeGreaterThan(0);
        foreach (var fam in new[] { "DejaVu Sans", "DejaVu Serif", "DejaVu Sans Mono" }) info.SplitMethod.ShouldContain(fam);
        progress.Last().ShouldBe(1);

        // The stored split keeps families apart: re-render and map each stored index back to its family.
        var r = GlyphsDataset.Render(fonts, null, CancellationToken.None);
        var loaded = store.Load(GlyphsDataset.Id);
        loaded.Images.Labels.ShouldBe(r.Labels);
        var famOf = (int[] idx) => idx.Select(i => r.FamilyOfImage[i]).ToHashSet();
        famOf(loaded.Split.Train).Intersect(famOf(loaded.Split.Test)).ShouldBeEmpty();
        famOf(loaded.Split.Train).Intersect(famOf(loaded.Split.Validation)).ShouldBeEmpty();
        famOf(loaded.Split.Validation).Intersect(famOf(loaded.Split.Test)).ShouldBeEmpty();

        // What was just built is current; the same facts as written before the augmentation profile was recorded are not
        // (they would train with the digits' fallback profile), and the pretrain command rebuilds such a dataset.
        var stored = store.Find(GlyphsDataset.Id)!;
        stored.Augmentation.ShouldBe(AugmentationProfile.Glyphs);
        GlyphsDataset.IsCurrent(stored).ShouldBeTrue();
        GlyphsDataset.IsCurrent(stored with { Augmentation = null }).ShouldBeFalse();
        AugmentationProfile.For(stored with { Augmentation = null }).ShouldNotBe(AugmentationProfile.Glyphs);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
