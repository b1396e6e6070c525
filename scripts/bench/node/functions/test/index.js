// test, Node reference (bench/test only): reports the caller from wx-server-sdk getWXContext().
'use strict';
const cloud = require('wx-server-sdk');

cloud.init();

exports.main = async () => {
  const { OPENID, APPID, UNIONID } = cloud.getWXContext();
  if (!OPENID) return { success: false, error: 'UNAUTHENTICATED', message: 'no verified caller identity' };
  return {
    success: true,
    message: 'Authentication successful',
    identity: { openid: OPENID, appid: APPID, unionid: UNIONID || 'Not available' },
    timestamp: new Date().toISOString(),
  };
};
