using ModelZoo.Core.Runs;
using SkiaSharp;

namespace ModelZoo.Infrastructure.Runs.Cards;

/// <summary>
/// Static pictures for a card's folder: a card published outside the portal has no live charts, so its curves travel
/// as a PNG. Two panels, loss and accuracy per epoch, training solid and validation dashed, drawn from the run's
/// recorded values only.
/// </summary>
public static class CardImages
{
    const int PanelWidth = 480, Height = 300, Margin = 44;

    /// <summary>The PNG, or null when no epoch was recorded. Axis text needs a font: DejaVu Sans where it is installed
    /// (Debian's fonts-dejavu-core), otherwise the lines are drawn without labels rather than failing.</summary>
    public static byte[]? Curves(IReadOnlyDictionary<string, IReadOnlyList<MetricPoint>> epochs)
    {
        IReadOnlyList<MetricPoint> Of(string n) => epochs.TryGetValue(n, out var l) ? l : [];
        if (!epochs.Values.Any(l => l.Any(p => double.IsFinite(p.Value)))) return null;

        using var surface = SKSurface.Create(new SKImageInfo(PanelWidth * 2, Height));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        using var face = Face();
        Panel(canvas, face, 0, "loss", [(Of(MetricNames.TrainLoss), "training", false), (Of(MetricNames.ValLoss), "validation", true)], percent: false);
        Panel(canvas, face, PanelWidth, "accuracy", [(Of(MetricNames.TrainAccuracy), "training", false), (Of(MetricNames.ValAccuracy), "validation", true)], percent: true);
        using var image = surface.Snapshot();
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    static SKTypeface? Face()
    {
        const string dejaVu = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
        return File.Exists(dejaVu) ? SKTypeface.FromFile(dejaVu) : null;
    }

    static void Panel(SKCanvas canvas, SKTypeface? face, int left, string title,
        (IReadOnlyList<MetricPoint> Points, string Label, bool Dashed)[] series, bool percent)
    {
        var points = series.SelectMany(s => s.Points).Where(p => double.IsFinite(p.Value)).ToList();
        if (points.Count == 0) return;
        double minY = percent ? 0 : Math.Min(0, points.Min(p => p.Value)), maxY = percent ? 1 : points.Max(p => p.Value);
        if (maxY <= minY) maxY = minY + 1;
        int maxEpoch = Math.Max(1, points.Max(p => p.Epoch));
        var plot = new SKRect(left + Margin, 24, left + PanelWidth - 12, Height - Margin + 8);
        float X(double epoch) => plot.Left + (float)((epoch - 1) / Math.Max(1, maxEpoch - 1)) * plot.Width;
        float Y(double v) => plot.Bottom - (float)((v - minY) / (maxY - minY)) * plot.Height;

        using var axis = new SKPaint { Color = new SKColor(0x99, 0x99, 0x99), StrokeWidth = 1, IsAntialias = true, Style = SKPaintStyle.Stroke };
        canvas.DrawRect(plot, axis);
        using var font = face is null ? null : new SKFont(face, 12);
        using var ink = new SKPaint { Color = new SKColor(0x33, 0x33, 0x33), IsAntialias = true };
        if (font is not null)
        {
            canvas.DrawText(title, plot.Left, 16, font, ink);
            canvas.DrawText(percent ? "100 %" : maxY.ToString("G3"), left + 2, plot.Top + 10, font, ink);
            canvas.DrawText(percent ? "0 %" : minY.ToString("G3"), left + 2, plot.Bottom, font, ink);
            // Whole epochs only: an epoch axis has no fractional ticks.
            canvas.DrawText("epoch 1", plot.Left, plot.Bottom + 18, font, ink);
            var last = $"epoch {maxEpoch}";
            canvas.DrawText(last, plot.Right - font.MeasureText(last), plot.Bottom + 18, font, ink);
        }

        var colours = new[] { new SKColor(0x1f, 0x77, 0xb4), new SKColor(0xff, 0x7f, 0x0e) };
        for (var i = 0; i < series.Length; i++)
        {
            var (pts, label, dashed) = series[i];
            var finite = pts.Where(p => double.IsFinite(p.Value)).OrderBy(p => p.Epoch).ToList();
            if (finite.Count == 0) continue;
            using var line = new SKPaint
            {
                Color = colours[i % colours.Length], StrokeWidth = 2, IsAntialias = true, Style = SKPaintStyle.Stroke,
                PathEffect = dashed ? SKPathEffect.CreateDash([6, 4], 0) : null,
            };
            using var path = new SKPath();
            path.MoveTo(X(finite[0].Epoch), Y(finite[0].Value));
            foreach (var p in finite.Skip(1)) path.LineTo(X(p.Epoch), Y(p.Value));
            if (finite.Count == 1) canvas.DrawCircle(X(finite[0].Epoch), Y(finite[0].Value), 3, line);
            else canvas.DrawPath(path, line);
            if (font is not null)
            {
                using var legend = new SKPaint { Color = colours[i % colours.Length], IsAntialias = true };
                canvas.DrawText(label, plot.Right - 90, plot.Top + 16 + 14 * i, font, legend);
            }
        }
    }
}
