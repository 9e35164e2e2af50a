namespace ModelZoo.Browser.Tests;

/// <summary>
/// Records, in the page, every point count the run page's loss chart goes through: the figure's data-points (what the
/// server rendered) and the total length of the Plotly div's traces (what plotly.js drew). Installed before the page's
/// own scripts, so no update is missed however fast the run trains, and kept for the page's life: a reload would empty it.
/// </summary>
public static class LiveChart
{
    public const string Recorder = """
        window.__curves = [];
        (() => {
            const sample = () => {
                const fig = document.querySelector('figure.plotly-curves[data-testid=loss-chart]');
                if (!fig) return;
                const gd = fig.querySelector('.js-plotly-plot');
                const plotted = gd && Array.isArray(gd.data) ? gd.data.reduce((n, t) => n + (t.x ? t.x.length : 0), 0) : 0;
                const points = Number(fig.dataset.points);
                const last = window.__curves[window.__curves.length - 1];
                if (!last || last.points !== points || last.plotted !== plotted) window.__curves.push({ points, plotted });
            };
            new MutationObserver(sample).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-points', 'd'] });
        })();
        """;

    /// <summary>True once plotly.js has drawn the curve at two different, growing, non-zero point counts.</summary>
    public const string HasGrown = """
        () => {
            const drawn = window.__curves.filter(c => c.plotted > 0);
            return drawn.length >= 2 && drawn[drawn.length - 1].plotted > drawn[0].plotted;
        }
        """;

    /// <summary>The point counts seen, for messages: "points/plotted" per update.</summary>
    public const string Seen = "() => window.__curves.map(c => `${c.points}/${c.plotted}`).join(' ')";
}
