/**
 * Isolation an operator can see (review of December 2026, docs/isolation.md): every alarm that
 * guards the account and pauses a pool shows on the dashboard — "without a topic, alarms still
 * show on the dashboard" — each pool's rate graph marks the threshold its alarm really uses,
 * and mail blocked because a pool is paused (by the pause function, an operator, or SES on the
 * pool's tenant, which publishes no notice of its own) raises an alarm.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { Template } from 'aws-cdk-lib/assertions';
import { reasonMetric } from '../../functions/router/observer.js';
import { dashboardBody, infraConfig, logicalId, resourcesOf, synthStack } from './helpers.js';

type Json = Record<string, unknown>;

let template: Template;
before(() => {
  template = synthStack({ alarmEmail: 'ops@example.com' }, { bundle: false }).template;
});

/** The dashboard body with every `Fn::GetAtt` of an alarm written as `<logicalId>`. */
function dashboardText(t: Template): string {
  const [, props] = resourcesOf(t, 'AWS::CloudWatch::Dashboard')[0]!;
  const body = props.DashboardBody as string | { 'Fn::Join': [string, unknown[]] };
  if (typeof body === 'string') return body;
  return body['Fn::Join'][1]
    .map((part) => {
      if (typeof part === 'string') return part;
      const getAtt = (part as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt'];
      return getAtt ? `<${getAtt[0]}>` : '{REF}';
    })
    .join('');
}

/** Each pool's "bounce and complaint rate" graph: its left and right horizontal annotations. */
function rateAnnotations(t: Template): Map<string, { left: number[]; right: number[] }> {
  const out = new Map<string, { left: number[]; right: number[] }>();
  for (const widget of dashboardBody(t).widgets) {
    const props = widget.properties as Json | undefined;
    const title = props?.title;
    if (typeof title !== 'string' || !title.includes('bounce and complaint rate')) continue;
    const pool = title.slice(0, title.indexOf(':'));
    const horizontal =
      ((props!.annotations as Json | undefined)?.horizontal as { value: number; yAxis?: string }[]) ?? [];
    out.set(pool, {
      left: horizontal.filter((a) => a.yAxis !== 'right').map((a) => a.value),
      right: horizontal.filter((a) => a.yAxis === 'right').map((a) => a.value),
    });
  }
  return out;
}

describe('the dashboard shows the isolation alarms', () => {
  it('its alarm widget lists every alarm of the stack, the account and pool rate alarms included', () => {
    const text = dashboardText(template);
    const missing = resourcesOf(template, 'AWS::CloudWatch::Alarm')
      .map(([id]) => id)
      .filter((id) => !text.includes(`<${id}>`));
    assert.deepEqual(missing, [], 'alarms missing from the dashboard');
  });

  it("each pool's rate graph marks the thresholds of that pool's own alarms", () => {
    const annotations = rateAnnotations(template);
    assert.deepEqual([...annotations.keys()].sort(), ['high-risk', 'normal', 'relay']);
    for (const [pool, { left, right }] of annotations) {
      // The reputation alarms' defaults (reputation.bounceRate 2.5 %, complaintRate 0.05 %).
      assert.deepEqual(left, [0.025], `${pool}: bounce alarm line`);
      assert.deepEqual(right, [0.0005], `${pool}: complaint alarm line`);
    }
  });

  it('the lines follow reputation.* of the configuration', () => {
    const t = synthStack(
      { config: infraConfig({ reputation: { bounceRate: 0.01, complaintRate: 0.0002 } }) },
      { bundle: false },
    ).template;
    for (const [pool, { left, right }] of rateAnnotations(t)) {
      assert.deepEqual(left, [0.01], pool);
      assert.deepEqual(right, [0.0002], pool);
    }
  });
});

describe('mail blocked by a paused pool raises an alarm', () => {
  it('on the router’s Reason.pool-paused count, notifying the topic', () => {
    const found = resourcesOf(template, 'AWS::CloudWatch::Alarm').filter(
      ([, a]) => a.MetricName === reasonMetric('pool-paused'),
    );
    assert.equal(found.length, 1, 'one alarm on Reason.pool-paused');
    const [, alarm] = found[0]!;
    assert.equal(alarm.Namespace, 'OutboundPools');
    assert.deepEqual(alarm.Dimensions, [{ Name: 'service', Value: 'outbound-pools-router' }]);
    assert.equal(alarm.Statistic, 'Sum');
    assert.equal(alarm.Threshold, 1);
    assert.equal(alarm.ComparisonOperator, 'GreaterThanOrEqualToThreshold');
    assert.equal(alarm.TreatMissingData, 'notBreaching');
    const topic = logicalId(template, 'AWS::SNS::Topic', 'AlarmTopic');
    assert.deepEqual(alarm.AlarmActions, [{ Ref: topic }]);
  });
});
